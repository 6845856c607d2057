"""Files attached to data collections: the list (py-ispyb's shape), the file, the timeline's counts; scoped, paged,
bad input refused, on both flavours."""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models.analysis import DataCollectionFileAttachment
from tests.conftest import Flavour

API = "/ispyb/api/v1"
#: py-ispyb's DataCollectionFileAttachment (pyispyb/core/schemas/datacollections.py)
ITEM_KEYS = {"dataCollectionFileAttachmentId", "dataCollectionId", "fileType", "_metadata"}


async def _attach(db: AsyncSession, dc_id: int, paths: list[str]) -> list[int]:
    rows = [DataCollectionFileAttachment(dataCollectionId=dc_id, fileFullPath=p, fileType="log") for p in paths]
    db.add_all(rows)
    await db.flush()
    return [r.dataCollectionFileAttachmentId for r in rows]


def _files(flavour: Flavour, data_dir: Path) -> dict[str, Any]:
    """Three attachments on collection a0 (two on disk), one on a1, one on b0."""
    (data_dir / "a.log").write_text("line 1\n")
    (data_dir / "b.log").write_text("line 2\n")
    dcs = flavour.data.dcs
    a0 = flavour.run(_attach, dcs["a0"], [str(data_dir / "a.log"), str(data_dir / "b.log"), str(data_dir / "gone")])
    a1 = flavour.run(_attach, dcs["a1"], [str(data_dir / "a.log")])
    b0 = flavour.run(_attach, dcs["b0"], [str(data_dir / "b.log")])
    return {"a0": a0, "a1": a1, "b0": b0}


def _list(flavour: Flavour, role: str, **params: object) -> dict[str, Any]:
    r = flavour.client.get(f"{API}/datacollections/attachments", headers=flavour.token(role), params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_list_shape_and_url(flavour: Flavour, data_dir: Path) -> None:
    ids = _files(flavour, data_dir)
    body = _list(flavour, "sci_a", dataCollectionId=flavour.data.dcs["a0"])
    assert body["total"] == 3 and body["skip"] == 0 and body["limit"] == 25
    first = body["results"][0]
    assert ITEM_KEYS <= set(first)
    assert first["dataCollectionFileAttachmentId"] == ids["a0"][0] and first["fileType"] == "log"
    assert first["_metadata"] == {"url": f"{API}/datacollections/attachments/{ids['a0'][0]}", "fileName": "a.log"}
    assert [a["_metadata"]["fileName"] for a in body["results"]] == ["a.log", "b.log", "gone"]


def test_group_filter_and_pages(flavour: Flavour, data_dir: Path) -> None:
    ids = _files(flavour, data_dir)
    group = flavour.data.groups["a"]
    whole = _list(flavour, "sci_a", dataCollectionGroupId=group)
    assert [a["dataCollectionFileAttachmentId"] for a in whole["results"]] == ids["a0"] + ids["a1"]
    pages = [_list(flavour, "sci_a", dataCollectionGroupId=group, skip=s, limit=3) for s in (0, 3)]
    assert [p["total"] for p in pages] == [4, 4]
    assert [len(p["results"]) for p in pages] == [3, 1]


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("sci_a", {"a0", "a1"}),
        ("sci_b", {"b0"}),
        ("staff", {"a0", "a1"}),
        ("admin", {"a0", "a1", "b0"}),
        ("nobody", set()),
    ],
)
def test_scoped(flavour: Flavour, data_dir: Path, role: str, visible: set[str]) -> None:
    ids = _files(flavour, data_dir)
    seen = {a["dataCollectionFileAttachmentId"] for a in _list(flavour, role, limit=1000)["results"]}
    mine = {i for key in ("a0", "a1", "b0") for i in ids[key]}
    assert seen & mine == {i for key in visible for i in ids[key]}
    for key in ("a0", "b0"):
        r = flavour.client.get(f"{API}/datacollections/attachments/{ids[key][0]}", headers=flavour.token(role))
        assert r.status_code == (200 if key in visible else 404), r.text


def test_the_file(flavour: Flavour, data_dir: Path) -> None:
    ids = _files(flavour, data_dir)
    r = flavour.client.get(f"{API}/datacollections/attachments/{ids['a0'][1]}", headers=flavour.token("sci_a"))
    assert r.status_code == 200 and r.content == b"line 2\n"
    assert 'filename="b.log"' in r.headers["content-disposition"]
    missing = flavour.client.get(f"{API}/datacollections/attachments/{ids['a0'][2]}", headers=flavour.token("sci_a"))
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    unknown = flavour.client.get(f"{API}/datacollections/attachments/999999999", headers=flavour.token("admin"))
    assert unknown.status_code == 404


def test_signed_download(flavour: Flavour, data_dir: Path) -> None:
    ids = _files(flavour, data_dir)
    url = f"{API}/datacollections/attachments/{ids['a0'][0]}"
    r = flavour.client.post(f"{API}/user/sign", headers=flavour.token("sci_a"), json={"validity": url})
    assert r.status_code in (200, 201), r.text
    download = flavour.client.get(url, params={"onetime": r.json()["token"]})
    assert download.status_code == 200 and download.content == b"line 1\n"
    r = flavour.client.post(f"{API}/user/sign", headers=flavour.token("sci_b"), json={"validity": url})
    assert flavour.client.get(url, params={"onetime": r.json()["token"]}).status_code == 404


@pytest.mark.parametrize(
    "params", [{"dataCollectionId": 0}, {"dataCollectionId": "x"}, {"dataCollectionGroupId": -1}, {"limit": 0}]
)
def test_bad_parameters(flavour: Flavour, params: dict[str, object]) -> None:
    r = flavour.client.get(f"{API}/datacollections/attachments", headers=flavour.token("sci_a"), params=params)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


def test_bad_ids(flavour: Flavour) -> None:
    for bad in ("0", "x", str(2**33)):
        r = flavour.client.get(f"{API}/datacollections/attachments/{bad}", headers=flavour.token("sci_a"))
        assert r.status_code == 422, bad


def test_event_counts(flavour: Flavour, data_dir: Path) -> None:
    _files(flavour, data_dir)
    events = _list_events(flavour, sessionId=flavour.data.sessions["a"])
    assert sorted((e["type"], e["attachments"]) for e in events) == [("dc", 4), ("robot", 0)]
    one_group = _list_events(flavour, dataCollectionGroupId=flavour.data.groups["a"])
    dcs = flavour.data.dcs
    assert {e["id"]: e["attachments"] for e in one_group} == {dcs["a0"]: 3, dcs["a1"]: 1}


def test_event_counts_without_attachments(flavour: Flavour) -> None:
    events = _list_events(flavour, sessionId=flavour.data.sessions["a"])
    assert sorted((e["type"], e["attachments"]) for e in events) == [("dc", 0), ("robot", 0)]


def _list_events(flavour: Flavour, **params: object) -> list[dict[str, Any]]:
    r = flavour.client.get(f"{API}/events", headers=flavour.token("sci_a"), params=params)
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    return results


async def _snapshots(db: AsyncSession, dc_id: int, first: str, second: str, plot: str | None) -> None:
    query = (
        "UPDATE DataCollection SET xtalSnapshotFullPath1 = :a, xtalSnapshotFullPath2 = :b WHERE dataCollectionId = :i"
    )
    await db.execute(text(query), {"a": first, "b": second, "i": dc_id})
    if plot is not None:
        query = "UPDATE DataCollection SET imageQualityIndicatorsPlotPath = :p WHERE dataCollectionId = :i"
        await db.execute(text(query), {"p": plot, "i": dc_id})


def test_snapshot_statuses(flavour: Flavour, data_dir: Path) -> None:
    """``_metadata.snapshots`` says which files can be served: on disk under the data roots (outside them: false)."""
    (data_dir / "x1.png").write_bytes(b"png")
    (data_dir / "plot.png").write_bytes(b"png")
    dc = flavour.data.dcs["a1"]  # the group's event shows its last collection
    plot = str(data_dir / "plot.png") if flavour.name == "official" else None  # Diamond's schema has no plot column
    flavour.run(_snapshots, dc, str(data_dir / "x1.png"), "/etc/hostname", plot)
    expected = {"1": True, "2": False, "3": False, "4": False, "analysis": flavour.name == "official"}
    events = _list_events(flavour, sessionId=flavour.data.sessions["a"])
    assert [e["Item"]["_metadata"]["snapshots"] for e in events if e["type"] == "dc"] == [expected]
    r = flavour.client.get(f"{API}/datacollections/{dc}", headers=flavour.token("sci_a"))
    assert r.status_code == 200 and r.json()["_metadata"] == {"snapshots": expected}
    assert "_files" not in r.json()
