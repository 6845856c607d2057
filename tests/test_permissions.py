"""Who sees what, as a table: role × route → expected status, on both flavours."""

import pytest

from tests.conftest import Flavour

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
    url = "/ispyb/api/v1" + route.format(**_ids(flavour))
    for role, status in zip(ROLES, expected, strict=True):
        headers = {} if role == "anonymous" else flavour.token(role)
        r = flavour.client.get(url, headers=headers)
        assert r.status_code == status, f"{role} GET {url}: {r.status_code} {r.text[:200]}"
        if status >= 400:
            assert r.headers["content-type"].startswith("application/problem+json")


def _visible(f: Flavour, role: str, route: str, key: str) -> set[object]:
    r = f.client.get(f"/ispyb/api/v1{route}", headers=f.token(role), params={"limit": 10000})
    assert r.status_code == 200, r.text
    return {item[key] for item in r.json()["results"]}


def test_lists_do_not_leak(flavour: Flavour) -> None:
    d = flavour.data
    a, b = d.proposals["a"], d.proposals["b"]
    assert a in _visible(flavour, "sci_a", "/proposals", "proposal")
    assert b not in _visible(flavour, "sci_a", "/proposals", "proposal")
    assert _visible(flavour, "sci_b", "/sessions", "sessionId") >= {d.sessions["b"]}
    assert d.sessions["a"] not in _visible(flavour, "sci_b", "/sessions", "sessionId")
    staff = _visible(flavour, "staff", "/sessions", "sessionId")
    assert d.sessions["a"] in staff and d.sessions["b"] not in staff
    assert {d.sessions["a"], d.sessions["b"]} <= _visible(flavour, "admin", "/sessions", "sessionId")
    events_b = _visible(flavour, "sci_b", "/events", "sessionId")
    assert d.sessions["a"] not in events_b and d.sessions["b"] in events_b
    assert _visible(flavour, "nobody", "/proposals", "proposal") == set()
    statuses = flavour.client.get(
        "/ispyb/api/v1/processings/status",
        headers=flavour.token("sci_b"),
        params={"dataCollectionIds": f"[{d.dcs['a0']},{d.dcs['b0']}]"},
    ).json()["statuses"]
    assert set(statuses) == {str(d.dcs["b0"])}
