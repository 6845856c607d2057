"""Who sees what, as tables on both flavours: role × route → expected status; role × list route → exactly the
objects of the proposals the role reaches (none of another proposal's, also when a filter names one)."""

import json
from typing import Any

import pytest

from tests.conftest import Flavour

API = "/ispyb/api/v1"

ROLES = ("anonymous", "sci_a", "sci_b", "staff", "admin")
# route template, and the expected status per role (a: proposal A objects, on beamline tb01 of the staff group)
MATRIX = [
    ("/proposals/{proposal_a}", (401, 200, 404, 200, 200)),
    ("/proposals/{proposal_b}", (401, 404, 200, 404, 200)),
    ("/sessions/{session_a}", (401, 200, 404, 200, 200)),
    ("/sessions/{session_b}", (401, 404, 200, 404, 200)),
    ("/datacollections/{dc_a}", (401, 200, 404, 200, 200)),
    ("/datacollections/{dc_b}", (401, 404, 200, 404, 200)),
    ("/stats/breakdown?sessionId={session_a}", (401, 200, 404, 200, 200)),
    ("/stats/times?sessionId={session_b}", (401, 404, 200, 404, 200)),
    ("/shippings/{shipping_a}", (401, 200, 404, 200, 200)),
    ("/shippings/{shipping_b}?include=contents", (401, 404, 200, 404, 200)),
    ("/shippings/{shipping_a}/manifest", (401, 200, 404, 200, 200)),
    ("/dewars/{dewar_a}", (401, 200, 404, 200, 200)),
    ("/dewars/{dewar_b}/history", (401, 404, 200, 404, 200)),
    ("/containers/{container_b}", (401, 404, 200, 404, 200)),
    ("/samples/{sample_a}", (401, 200, 404, 200, 200)),
    ("/proteins/{protein_b}", (401, 404, 200, 404, 200)),
    ("/datacollections/{dc_a}?include=results,metrics", (401, 200, 404, 200, 200)),
    ("/sessions/{session_b}/summary", (401, 404, 200, 404, 200)),
    ("/results?dataCollectionId={dc_a}", (401, 200, 200, 200, 200)),
    ("/metrics?sessionId={session_b}", (401, 200, 200, 200, 200)),
    ("/metrics?proposal={proposal_a}", (401, 200, 404, 200, 200)),
    ("/result-kinds", (401, 200, 200, 200, 200)),
    ("/result-kinds/em.ctf", (401, 200, 200, 200, 200)),
    ("/proposals", (401, 200, 200, 200, 200)),
    ("/shippings", (401, 200, 200, 200, 200)),
    ("/dewars", (401, 200, 200, 200, 200)),
    ("/containers", (401, 200, 200, 200, 200)),
    ("/samples", (401, 200, 200, 200, 200)),
    ("/proteins", (401, 200, 200, 200, 200)),
    ("/labcontacts", (401, 200, 200, 200, 200)),
    ("/dewar-registry", (401, 200, 200, 200, 200)),
    ("/shippings/import/template", (401, 200, 200, 200, 200)),
    ("/sessions", (401, 200, 200, 200, 200)),
    ("/events", (401, 200, 200, 200, 200)),
    ("/events/types", (401, 200, 200, 200, 200)),
    ("/processings/auto-integrations?dataCollectionId={dc_a}", (401, 200, 200, 200, 200)),
    ("/processings/status?dataCollectionIds=[{dc_a}]", (401, 200, 200, 200, 200)),
    ("/processings/messages/status?dataCollectionIds=[{dc_a}]", (401, 200, 200, 200, 200)),
    ("/user/current", (401, 200, 200, 200, 200)),
    ("/options/ui", (401, 200, 200, 200, 200)),
    ("/health", (200, 200, 200, 200, 200)),
    ("/auth/config", (200, 200, 200, 200, 200)),
]


def _ids(f: Flavour) -> dict[str, object]:
    d = f.data
    return {
        "proposal_a": d.proposals["a"],
        "proposal_b": d.proposals["b"],
        "session_a": d.sessions["a"],
        "session_b": d.sessions["b"],
        "dc_a": d.dcs["a0"],
        "dc_b": d.dcs["b0"],
        **{f"shipping_{k}": v for k, v in d.shippings.items()},
        **{f"dewar_{k}": v for k, v in d.dewars.items()},
        **{f"container_{k}": v for k, v in d.containers.items()},
        **{f"sample_{k}": v for k, v in d.samples.items()},
        **{f"protein_{k}": v for k, v in d.proteins.items()},
    }


@pytest.mark.parametrize(("route", "expected"), MATRIX, ids=[m[0] for m in MATRIX])
def test_matrix(flavour: Flavour, route: str, expected: tuple[int, ...]) -> None:
    url = API + route.format(**_ids(flavour))
    for role, status in zip(ROLES, expected, strict=True):
        headers = {} if role == "anonymous" else flavour.token(role)
        r = flavour.client.get(url, headers=headers)
        assert r.status_code == status, f"{role} GET {url}: {r.status_code} {r.text[:200]}"
        if status >= 400:
            assert r.headers["content-type"].startswith("application/problem+json")


#: the proposals (keys of the data set) each role reaches: A's sessions are on the staff's beamline
REACH = {"sci_a": "a", "sci_b": "b", "staff": "a", "admin": "ab", "nobody": ""}
#: role and list route where the role sees every proposal's objects: beamline staff keep the facility's registry
WHOLE = {("staff", "/dewar-registry")}
#: list route, the key naming an item, the kind of object it lists
LISTS = [
    ("/proposals", "proposal", "proposal"),
    ("/sessions", "sessionId", "session"),
    ("/events", "sessionId", "session"),
    ("/shippings", "shippingId", "shipping"),
    ("/dewars", "dewarId", "dewar"),
    ("/containers", "containerId", "container"),
    ("/samples", "blSampleId", "sample"),
    ("/proteins", "proteinId", "protein"),
    ("/labcontacts", "labContactId", "labcontact"),
    ("/dewar-registry", "facilityCode", "registry"),
    ("/results", "resultId", "result"),
    ("/metrics", "metricId", "metric"),
]
#: list route filtered by one object of a proposal: the filter's value, by the kind of object it names
FILTERED = [
    ("/sessions?proposal={}", "proposal"),
    ("/events?sessionId={}", "session"),
    ("/events/types?sessionId={}", "session"),
    ("/samples?proposal={}", "proposal"),
    ("/shippings?proposal={}", "proposal"),
    ("/proteins?proposal={}", "proposal"),
    ("/labcontacts?proposal={}", "proposal"),
    ("/results?dataCollectionId={}", "dc"),
    ("/results?sessionId={}", "session"),
    ("/metrics?dataCollectionId={}", "dc"),
    ("/metrics?sessionId={}", "session"),
    ("/processings?dataCollectionId={}", "dc"),
    ("/processings/auto-integrations?dataCollectionId={}", "dc"),
]

World = dict[str, dict[str, set[object]]]


def _world(f: Flavour) -> World:
    """Every kind of listed object, in proposal A and in proposal B (those without one in the data set are made
    here, on the test's transaction and documents)."""
    d, admin = f.data, f.token("admin")
    world: World = {}
    for key in "ab":
        proposal = f.client.get(f"{API}/proposals/{d.proposals[key]}", headers=admin).json()["proposalId"]
        card = {"proposalId": proposal, "cardName": f"card {key}", "Person": {"givenName": key, "familyName": "T"}}
        code = f"PERM-{key.upper()}{f.name[0].upper()}-{1000 + ord(key)}"
        made = {
            "labcontact": _post(f, "admin", "/labcontacts", json=card)["labContactId"],
            "registry": _post(f, "admin", "/dewar-registry", json={"facilityCode": code, "proposalIds": [proposal]})[
                "facilityCode"
            ],
            "result": _post(f, "pipeline", "/results", json=_result(d.dcs[f"{key}0"]))["resultId"],
        }
        metric = {"kind": "perm.k", "dataCollectionId": d.dcs[f"{key}0"], "values": {"v": 1}}
        assert _post(f, "pipeline", "/metrics/bulk", content=json.dumps(metric), expect=200)["accepted"] == 1
        world[key] = {
            "proposal": {d.proposals[key]},
            "session": {d.sessions[key]},
            "dc": {d.dcs[f"{key}0"], d.dcs[f"{key}1"]},
            "shipping": {d.shippings[key]},
            "dewar": {d.dewars[key]},
            "container": {d.containers[key]},
            "sample": {d.samples[key]},
            "protein": {d.proteins[key]},
            **{kind: {value} for kind, value in made.items()},
        }
    for key in "ab":
        world[key]["metric"] = _listed(f, "admin", "/metrics", "metricId", sessionId=d.sessions[key])
        assert world[key]["metric"]
    return world


def _result(dc: int) -> dict[str, object]:
    return {"kind": "mx.autoproc", "program": {"name": "perm", "version": "1"}, "dataCollectionIds": [dc]}


def _post(f: Flavour, role: str, route: str, expect: int = 201, **kw: Any) -> Any:
    r = f.client.post(f"{API}{route}", headers=f.token(role), **kw)
    assert r.status_code == expect, f"{role} POST {route}: {r.status_code} {r.text[:200]}"
    return r.json()


def _listed(f: Flavour, role: str, route: str, key: str, **params: object) -> set[object]:
    r = f.client.get(f"{API}{route}", headers=f.token(role), params={"limit": 10000, **params})
    assert r.status_code == 200, f"{role} GET {route}: {r.status_code} {r.text[:200]}"
    return {item[key] for item in r.json()["results"]}


def test_lists_show_exactly_the_proposals_a_role_reaches(flavour: Flavour) -> None:
    """Each list route, for each role: exactly the objects of its proposals, none of another proposal's."""
    world = _world(flavour)
    for role, reached in REACH.items():
        for route, key, kind in LISTS:
            seen = "ab" if (role, route) in WHOLE else reached
            expected = set().union(*(world[p][kind] for p in seen))
            listed = _listed(flavour, role, route, key)
            if role == "admin":  # all proposals: the dumps' own rows too
                assert expected <= listed, f"{role} GET {route}"
            else:
                assert listed == expected, f"{role} GET {route}"


def test_lists_filtered_by_another_proposals_object_show_none_of_it(flavour: Flavour) -> None:
    """A list filtered by an object of a proposal the role does not reach answers 404 or lists nothing of it."""
    world = _world(flavour)
    for role, reached in REACH.items():
        for other in set("ab") - set(reached):
            for route, kind in FILTERED:
                for value in world[other][kind]:
                    url = API + route.format(value)
                    r = flavour.client.get(url, headers=flavour.token(role))
                    assert r.status_code in (200, 404), f"{role} GET {url}: {r.status_code} {r.text[:200]}"
                    assert r.status_code == 404 or r.json()["total"] == 0, f"{role} GET {url}: {r.text[:300]}"


def test_processing_statuses_show_only_reached_collections(flavour: Flavour) -> None:
    d = flavour.data
    ids = f"[{d.dcs['a0']},{d.dcs['b0']}]"
    for role, reached in REACH.items():
        expected = {str(d.dcs[f"{p}0"]) for p in reached}
        r = flavour.client.get(
            f"{API}/processings/status", headers=flavour.token(role), params={"dataCollectionIds": ids}
        )
        assert r.status_code == 200, r.text
        assert set(r.json()["statuses"]) == expected, role
