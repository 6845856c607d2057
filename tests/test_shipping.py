"""Sample logistics on both flavours: shipments → dewars → containers → samples, identifiers, delivery modes,
deletion rules, dewar history and registry."""

import uuid
from typing import Any, cast

import httpx
import pytest

from tests.conftest import Flavour

API = "/ispyb/api/v1"


class Caller:
    """One role of the test data set speaking to the API."""

    def __init__(self, f: Flavour, role: str) -> None:
        self.f, self.headers = f, f.token(role)

    def __call__(self, method: str, path: str, expect: int, **kw: Any) -> Any:
        headers = self.headers | kw.pop("headers", {})
        r: httpx.Response = self.f.client.request(method, API + path, headers=headers, **kw)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text[:400]}"
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json")
        kind = r.headers.get("content-type", "")
        return r.json() if r.content and kind.startswith(("application/json", "application/problem+json")) else r


def uid() -> str:
    return uuid.uuid4().hex[:8].upper()


def proposal_id(f: Flavour, key: str) -> int:
    return cast(int, Caller(f, "admin")("GET", f"/proposals/{f.data.proposals[key]}", 200)["proposalId"])


def contact(call: Caller, pid: int) -> int:
    body = {"proposalId": pid, "cardName": f"card-{uid()}", "Person": {"givenName": "Ada", "familyName": "Lovelace"}}
    return cast(int, call("POST", "/labcontacts", 201, json=body)["labContactId"])


def courier(pid: int, name: str = "ship") -> dict[str, Any]:
    return {
        "proposalId": pid,
        "shippingName": f"{name}-{uid()}",
        "deliveryMode": "courier",
        "deliveryAgent_agentName": "DHL",
        "deliveryAgent_flightCode": "1Z999",
        "deliveryAgent_shippingDate": "2026-12-01",
    }


@pytest.fixture
def sci(flavour: Flavour) -> Caller:
    return Caller(flavour, "sci_a")


def test_round_trip_down_to_samples(flavour: Flavour, sci: Caller) -> None:
    pid = proposal_id(flavour, "a")
    ship = sci("POST", "/shippings", 201, json=courier(pid))
    assert ship["deliveryMode"] == "courier" and ship["_metadata"] == {"dewars": 0, "containers": 0, "samples": 0}
    renamed = sci("PATCH", f"/shippings/{ship['shippingId']}", 200, json={"comments": "fragile"})
    assert renamed["comments"] == "fragile" and renamed["deliveryAgent_agentName"] == "DHL"
    code = uid()
    dewar = sci("POST", "/dewars", 201, json={"shippingId": ship["shippingId"], "code": "D1", "barCode": f"DW-{code}"})
    assert [d["dewarId"] for d in sci("GET", f"/dewars?barCode=DW-{code}", 200)["results"]] == [dewar["dewarId"]]
    box = {"dewarId": dewar["dewarId"], "code": "puck1", "containerType": "Unipuck", "barcode": f"PK-{code}"}
    container = sci("POST", "/containers", 201, json=box)
    assert container["capacity"] == 16
    boxes = sci("GET", f"/containers?barcode=PK-{code}", 200)["results"]
    assert [c["containerId"] for c in boxes] == [container["containerId"]]
    protein = sci("POST", "/proteins", 201, json={"proposalId": pid, "acronym": f"p{code}", "name": "lysozyme"})
    sample = {
        "name": "lyso_1",
        "containerId": container["containerId"],
        "location": 3,
        "Crystal": {"proteinId": protein["proteinId"], "spaceGroup": "P43212", "cell_a": 79.1},
        "DiffractionPlan": {"experimentKind": "SAD", "requiredResolution": 1.8, "anomalousScatterer": "Se"},
    }
    created = sci("POST", "/samples", 201, json=sample)
    assert created["Crystal"]["Protein"]["acronym"] == f"p{code}" and created["Container"]["code"] == "puck1"
    assert created["DiffractionPlan"]["experimentKind"] == "SAD" and created["location"] == "3"
    moved = sci("PATCH", f"/samples/{created['blSampleId']}", 200, json={"location": 4, "comments": "moved"})
    assert moved["location"] == "4" and moved["comments"] == "moved"
    whole = sci("GET", f"/shippings/{ship['shippingId']}?include=contents", 200)
    assert whole["_metadata"] == {"dewars": 1, "containers": 1, "samples": 1}
    assert whole["Dewar"][0]["Container"][0]["BLSample"][0]["name"] == "lyso_1"
    manifest = sci("GET", f"/shippings/{ship['shippingId']}/manifest?format=json", 200)["rows"]
    assert manifest == [
        {
            "dewar": "D1",
            "dewarBarCode": f"DW-{code}",
            "facilityCode": None,
            "container": "puck1",
            "containerBarcode": f"PK-{code}",
            "containerType": "Unipuck",
            "position": "4",
            "sample": "lyso_1",
            "pinBarcode": None,
            "protein": f"p{code}",
            "experimentKind": "SAD",
            "comments": "moved",
        }
    ]
    csv = sci("GET", f"/shippings/{ship['shippingId']}/manifest", 200)
    assert csv.headers["content-type"].startswith("text/csv") and f"PK-{code}" in csv.text
    assert sci("GET", f"/samples?proposal={flavour.data.proposals['a']}&search=lyso_1", 200)["total"] == 1


def test_identifiers_are_unique(flavour: Flavour, sci: Caller) -> None:
    pid = proposal_id(flavour, "a")
    ship = sci("POST", "/shippings", 201, json=courier(pid))["shippingId"]
    code = uid()
    first = sci("POST", "/dewars", 201, json={"shippingId": ship, "code": "D1", "barCode": f"DW-{code}"})["dewarId"]
    clash = sci("POST", "/dewars", 409, json={"shippingId": ship, "code": "D2", "barCode": f"DW-{code}"})
    assert f"dewar {first}" in clash["detail"]
    other = sci("POST", "/dewars", 201, json={"shippingId": ship, "code": "D2"})["dewarId"]
    assert f"dewar {first}" in sci("PATCH", f"/dewars/{other}", 409, json={"barCode": f"DW-{code}"})["detail"]
    box = {"dewarId": first, "code": "p1", "containerType": "Unipuck", "barcode": f"PK-{code}"}
    kept = sci("POST", "/containers", 201, json=box)["containerId"]
    assert f"container {kept}" in sci("POST", "/containers", 409, json=box | {"code": "p2"})["detail"]
    protein = {"proposalId": pid, "acronym": f"a{code}"}
    sci("POST", "/proteins", 201, json=protein)
    sci("POST", "/proteins", 409, json=protein)


def test_scientists_cannot_reach_other_proposals(flavour: Flavour, sci: Caller) -> None:
    other = Caller(flavour, "sci_b")
    ship = sci("POST", "/shippings", 201, json=courier(proposal_id(flavour, "a")))["shippingId"]
    other("POST", "/dewars", 404, json={"shippingId": ship, "code": "intruder"})
    other("GET", f"/shippings/{ship}", 404)
    other("PATCH", f"/shippings/{ship}", 404, json={"comments": "mine now"})
    other("DELETE", f"/shippings/{ship}", 404)
    other("POST", "/shippings", 404, json=courier(proposal_id(flavour, "a")))
    assert ship not in {s["shippingId"] for s in other("GET", "/shippings?limit=10000", 200)["results"]}
    Caller(flavour, "staff")("GET", f"/shippings/{ship}", 200)


@pytest.mark.parametrize(
    ("missing", "mode"),
    [
        ("deliveryAgent_flightCode", "courier"),
        ("deliveryAgent_shippingDate", "courier"),
        ("sendingLabContactId", "hand-carried"),
        ("deliveryAgent_deliveryDate", "hand-carried"),
    ],
)
def test_delivery_mode_requires_its_own_fields(flavour: Flavour, sci: Caller, missing: str, mode: str) -> None:
    pid = proposal_id(flavour, "a")
    body = courier(pid)
    if mode == "hand-carried":
        body = {
            "proposalId": pid,
            "shippingName": f"hand-{uid()}",
            "deliveryMode": "hand-carried",
            "sendingLabContactId": contact(sci, pid),
            "deliveryAgent_deliveryDate": "2026-12-02",
        }
    sci("POST", "/shippings", 201, json=body)
    problem = sci("POST", "/shippings", 422, json={k: v for k, v in body.items() if k != missing})
    assert missing in str(problem["detail"])


def test_hand_carried_needs_no_courier_and_modes_switch(flavour: Flavour, sci: Caller) -> None:
    pid = proposal_id(flavour, "a")
    who = contact(sci, pid)
    body = {
        "proposalId": pid,
        "shippingName": f"hand-{uid()}",
        "deliveryMode": "hand-carried",
        "sendingLabContactId": who,
        "deliveryAgent_deliveryDate": "2026-12-02",
    }
    ship = sci("POST", "/shippings", 201, json=body)
    assert ship["deliveryMode"] == "hand-carried" and ship["sendingLabContactId"] == who
    sid = ship["shippingId"]
    assert sci("PATCH", f"/shippings/{sid}", 200, json={"shippingName": "renamed"})["deliveryMode"] == "hand-carried"
    sci("PATCH", f"/shippings/{sid}", 422, json={"deliveryMode": "courier"})
    switched = {k: v for k, v in courier(pid).items() if k.startswith("delivery")}
    after = sci("PATCH", f"/shippings/{sid}", 200, json=switched)
    assert after["deliveryMode"] == "courier" and after["deliveryAgent_agentName"] == "DHL"
    other = contact(Caller(flavour, "sci_b"), proposal_id(flavour, "b"))
    sci("PATCH", f"/shippings/{sid}", 422, json={"returnLabContactId": other})


def test_deleting_refuses_what_holds_samples(flavour: Flavour, sci: Caller) -> None:
    d = flavour.data
    sci("DELETE", f"/shippings/{d.shippings['a']}", 409)
    sci("DELETE", f"/dewars/{d.dewars['a']}", 409)
    sci("DELETE", f"/containers/{d.containers['a']}", 409)
    assert sci("GET", f"/containers/{d.containers['a']}", 200)["_metadata"]["samples"] == 1
    ship = sci("POST", "/shippings", 201, json=courier(proposal_id(flavour, "a")))["shippingId"]
    dewar = sci("POST", "/dewars", 201, json={"shippingId": ship, "code": "D1"})["dewarId"]
    sci("POST", "/containers", 201, json={"dewarId": dewar, "code": "p", "containerType": "SPINEpuck"})
    sci("POST", f"/dewars/{dewar}/history", 201, json={"dewarStatus": "at facility", "storageLocation": "stores"})
    sci("DELETE", f"/shippings/{ship}", 204)
    sci("GET", f"/dewars/{dewar}", 404)


def test_dewar_history_is_kept_in_order(flavour: Flavour, sci: Caller) -> None:
    ship = sci("POST", "/shippings", 201, json=courier(proposal_id(flavour, "a")))["shippingId"]
    dewar = sci("POST", "/dewars", 201, json={"shippingId": ship, "code": "D1"})["dewarId"]
    steps = [("at facility", "stores"), ("in storage", "rack 3"), ("on beamline", "tb01"), ("sent back", "stores")]
    for status, where in steps:
        sci("POST", f"/dewars/{dewar}/history", 201, json={"dewarStatus": status, "storageLocation": where})
    history = sci("GET", f"/dewars/{dewar}/history", 200)
    assert [(h["dewarStatus"], h["storageLocation"]) for h in history] == steps
    assert sci("GET", f"/dewars/{dewar}", 200)["dewarStatus"] == "sent back"
    sci("POST", f"/dewars/{dewar}/history", 422, json={"dewarStatus": "lost at sea"})


def test_registry_is_staff_made_and_codes_must_be_linked(flavour: Flavour, sci: Caller) -> None:
    pa, pb = proposal_id(flavour, "a"), proposal_id(flavour, "b")
    admin = Caller(flavour, "admin")
    number = f"{uuid.uuid4().int % 10000:04d}"
    code = f"ZZ{flavour.name[:1].upper()}-MX-{number}"
    sci("POST", "/dewar-registry", 403, json={"facilityCode": code})
    admin("POST", "/dewar-registry", 422, json={"facilityCode": "not a code"})
    entry = admin("POST", "/dewar-registry", 201, json={"facilityCode": code, "proposalIds": [pa]})
    assert entry["proposals"] == [flavour.data.proposals["a"]]
    admin("POST", "/dewar-registry", 409, json={"facilityCode": code})
    assert code in {e["facilityCode"] for e in sci("GET", "/dewar-registry", 200)["results"]}
    assert code not in {e["facilityCode"] for e in Caller(flavour, "sci_b")("GET", "/dewar-registry", 200)["results"]}
    ship_a = sci("POST", "/shippings", 201, json=courier(pa))["shippingId"]
    dewar = sci("POST", "/dewars", 201, json={"shippingId": ship_a, "code": "D", "facilityCode": code})
    assert dewar["facilityCode"] == code
    sci("POST", "/dewars", 422, json={"shippingId": ship_a, "code": "D", "facilityCode": "ZZZ-MX-0000"})
    ship_b = Caller(flavour, "sci_b")("POST", "/shippings", 201, json=courier(pb))["shippingId"]
    Caller(flavour, "sci_b")("POST", "/dewars", 422, json={"shippingId": ship_b, "code": "D", "facilityCode": code})


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"name": "bad name!"}, 422),
        ({"location": 17}, 422),
        ({"location": 1}, 409),
        ({"DiffractionPlan": {"experimentKind": "Helical"}}, 422),
        ({"DiffractionPlan": {"anomalousScatterer": "selenium"}}, 422),
    ],
)
def test_bad_samples_are_refused(flavour: Flavour, sci: Caller, change: dict[str, Any], status: int) -> None:
    d = flavour.data
    body = {
        "name": f"s_{uid()}",
        "containerId": d.containers["a"],
        "location": 2,
        "Crystal": {"proteinId": d.proteins["a"]},
    }
    sci("POST", "/samples", status, json=body | change)
    assert sci("GET", f"/containers/{d.containers['a']}", 200)["_metadata"]["samples"] == 1  # the data set's


def test_text_the_database_cannot_store_is_a_422(flavour: Flavour, sci: Caller) -> None:
    problem = sci("POST", "/shippings", 422, json=courier(proposal_id(flavour, "a"), name="\U0001f69a box"))
    assert "cannot store" in problem["detail"]
    assert sci("GET", "/shippings?limit=1", 200)["total"] == 1  # the data set's


def test_containers_and_dewars_change_and_go_when_empty(flavour: Flavour, sci: Caller) -> None:
    pid = proposal_id(flavour, "a")
    card = contact(sci, pid)
    assert sci("GET", f"/labcontacts/{card}", 200)["Person"]["familyName"] == "Lovelace"
    ship = sci("POST", "/shippings", 201, json=courier(pid) | {"returnLabContactId": card})
    assert ship["returnLabContactId"] == card
    dewar = sci("POST", "/dewars", 201, json={"shippingId": ship["shippingId"], "code": "D1"})["dewarId"]
    changed = sci("PATCH", f"/dewars/{dewar}", 200, json={"code": "D9", "trackingNumberToSynchrotron": "TRK1"})
    assert (changed["code"], changed["trackingNumberToSynchrotron"]) == ("D9", "TRK1")
    box = sci(
        "POST", "/containers", 201, json={"dewarId": dewar, "code": "c", "containerType": "Plate", "capacity": 48}
    )
    assert box["capacity"] == 48
    moved = sci("PATCH", f"/containers/{box['containerId']}", 200, json={"sampleChangerLocation": "5", "code": "c2"})
    assert (moved["sampleChangerLocation"], moved["code"]) == ("5", "c2")
    sci("POST", "/containers", 422, json={"dewarId": dewar, "code": "x", "containerType": "Tray"})
    sci("DELETE", f"/containers/{box['containerId']}", 204)
    sci("GET", f"/containers/{box['containerId']}", 404)
    sci("DELETE", f"/dewars/{dewar}", 204)
    assert sci("GET", f"/shippings/{ship['shippingId']}", 200)["_metadata"]["dewars"] == 0


def test_sample_list_says_what_each_sample_went_through(flavour: Flavour, sci: Caller) -> None:
    d = flavour.data
    proposal = d.proposals["a"]
    shells = sci("GET", f"/processings/auto-integrations?dataCollectionId={d.dcs['a0']}", 200)["results"][0]
    stats = shells["AutoProcIntegration"][0]["AutoProcScalingHasInt"][0]["AutoProcScaling"]["AutoProcScalingStatistics"]
    sample = sci("GET", f"/samples/{d.samples['a']}", 200)
    assert sample["_metadata"] | {"proposal": None} == {
        "datacollections": 2,
        "types": ["OSC"],
        "autoIntegrations": 1,
        "integratedResolution": min(s["resolutionLimitHigh"] for s in stats),
        "proposal": None,
    }
    for status in ("Sample Action", "Data Collected", "Auto Integrated"):
        found = sci("GET", "/samples", 200, params={"proposal": proposal, "status": status, "limit": 10000})["results"]
        assert d.samples["a"] in {s["blSampleId"] for s in found}, status
    box = sci("POST", "/containers", 201, json={"dewarId": d.dewars["a"], "code": "fresh", "containerType": "Puck"})
    new = {
        "name": "untouched",
        "containerId": box["containerId"],
        "location": 1,
        "Crystal": {"proteinId": d.proteins["a"]},
    }
    untouched = sci("POST", "/samples", 201, json=new)
    assert untouched["_metadata"]["datacollections"] == 0 and untouched["_metadata"]["types"] == []
    collected = sci("GET", "/samples", 200, params={"proposal": proposal, "status": "Data Collected", "limit": 10000})
    assert untouched["blSampleId"] not in {s["blSampleId"] for s in collected["results"]}
    sci("GET", "/samples?status=Strategy", 422)


def test_the_manifest_neutralises_formulas(flavour: Flavour, sci: Caller) -> None:
    """Codes, names and comments a client stored leave the CSV manifest as text, never as formulas."""
    from tests.test_exports import HOSTILE, _hostile_shipment, assert_neutral_csv

    ship = flavour.run(_hostile_shipment, proposal_id(flavour, "a"), flavour.data.sessions["a"])
    rows = assert_neutral_csv(sci("GET", f"/shippings/{ship}/manifest", 200).content, HOSTILE[1:])
    assert rows[0][:3] == ["dewar", "dewarBarCode", "facilityCode"]
    assert rows[1][0] == "'+1+1" and rows[1][1].startswith("'=") and rows[1][-1] == "'\rx"
