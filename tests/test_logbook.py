"""The beamline logbook on both flavours: who sees and writes which entries through every route and filter,
versions and racing correctors, text search, cursor pages, and bad input (refused, nothing written)."""

import asyncio
import base64
import json
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.services.logbook import kinds
from documents import logbook
from schemas.logbook import BUILTIN_KINDS
from tests.conftest import Flavour
from tests.factories import BEAMLINE_A, BEAMLINE_B, STAFF_PERMISSION
from tests.test_api_keys import MANAGE, grant
from tests.test_shipping import Caller

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")  # as the API writes UTC


def post(call: Caller, expect: int = 201, **body: Any) -> Any:
    return call("POST", "/logbook", expect, json=body)


def walk(call: Caller, page_size: int = 2, **params: Any) -> list[dict[str, Any]]:
    """Every entry a listing gives, following its cursor ``page_size`` at a time."""
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = call(
            "GET", "/logbook", 200, params=params | {"limit": page_size} | ({"cursor": cursor} if cursor else {})
        )
        assert len(page["results"]) <= page_size
        seen += page["results"]
        if (cursor := page["next"]) is None:
            return seen


def ids(entries: list[dict[str, Any]]) -> list[str]:
    return [e["entryId"] for e in entries]


class Book:
    """The entries of the scoping matrix: two sessions' notes and faults, and each beamline's own entries."""

    def __init__(self, f: Flavour) -> None:
        d = f.data
        self.sci_a, self.sci_b = Caller(f, "sci_a"), Caller(f, "sci_b")
        self.staff, self.admin = Caller(f, "staff"), Caller(f, "admin")
        self.entries = {
            "a_note": post(self.sci_a, sessionId=d.sessions["a"], text="cold stream ok", tags=["cryo"], time=at(1)),
            "a_fault": post(self.staff, sessionId=d.sessions["a"], kind="fault", text="Shutter stuck", time=at(2)),
            "b_note": post(self.sci_b, sessionId=d.sessions["b"], text="shutter noise", tags=["cryo"], time=at(3)),
            "a_wide": post(self.staff, beamLineName=BEAMLINE_A, kind="beam", text="beam lost: shutter", time=at(4)),
            "b_wide": post(self.admin, beamLineName=BEAMLINE_B, kind="alarm", text="Shutter alarm", time=at(5)),
        }

    def id(self, *names: str) -> set[str]:
        return {self.entries[n]["entryId"] for n in names}


#: what each role must see of the matrix's entries
VISIBLE = {
    "sci_a": ("a_note", "a_fault"),
    "sci_b": ("b_note",),
    "staff": ("a_note", "a_fault", "a_wide"),
    "admin": ("a_note", "a_fault", "b_note", "a_wide", "b_wide"),
    "nobody": (),
}


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_each_role_sees_its_entries_through_every_route_and_filter(flavour: Flavour, role: str) -> None:
    book = Book(flavour)
    call, d = Caller(flavour, role), flavour.data
    mine = book.id(*VISIBLE[role])
    everything = {e["entryId"]: e for e in book.entries.values()}
    listing = walk(call)
    assert ids(listing) == sorted(mine, key=lambda i: everything[i]["time"], reverse=True)
    filters: list[tuple[dict[str, Any], set[str]]] = [
        ({"sessionId": d.sessions["a"]}, book.id("a_note", "a_fault")),
        ({"sessionId": d.sessions["b"]}, book.id("b_note")),
        ({"beamLineName": BEAMLINE_A}, book.id("a_note", "a_fault", "a_wide")),
        ({"beamLineName": BEAMLINE_B}, book.id("b_note", "b_wide")),
        ({"kind": "note"}, book.id("a_note", "b_note")),
        ({"kind": "fault"}, book.id("a_fault")),
        ({"tag": "cryo"}, book.id("a_note", "b_note")),
        ({"from": at(2), "to": at(4)}, book.id("a_fault", "b_note", "a_wide")),
        ({"q": "SHUTTER"}, book.id("a_fault", "b_note", "a_wide", "b_wide")),
    ]
    for params, matching in filters:
        assert set(ids(walk(call, 1, **params))) == matching & mine, params
    for key in ("a", "b"):
        of_session = {i for name, e in book.entries.items() if name.startswith(f"{key}_") for i in [e["entryId"]]}
        of_session -= book.id(f"{key}_wide")
        if of_session & mine:
            assert set(ids(walk(call, proposal=d.proposals[key]))) == of_session & mine
        else:
            call("GET", "/logbook", 404, params={"proposal": d.proposals[key]})
    for name, entry in book.entries.items():
        seen = entry["entryId"] in mine
        got = call("GET", f"/logbook/{entry['entryId']}", 200 if seen else 404)
        if seen:
            assert got["text"] == entry["text"] and ids(got["versions"]) == [entry["entryId"]], name
        else:
            call("PATCH", f"/logbook/{entry['entryId']}", 404, json={"text": "corrected"})


def test_entries_take_their_session_s_beamline_and_proposal(flavour: Flavour) -> None:
    sci_a, d = Caller(flavour, "sci_a"), flavour.data
    made = post(sci_a, sessionId=d.sessions["a"], text="x", beamLineName=BEAMLINE_A)
    proposal_id = Caller(flavour, "admin")("GET", f"/proposals/{d.proposals['a']}", 200)["proposalId"]
    assert (made["beamLineName"], made["proposalId"], made["version"], made["latest"]) == (
        BEAMLINE_A,
        proposal_id,
        1,
        True,
    )
    sci_a_person = flavour.data.persons["sci_a"]
    assert made["author"] == {"personId": sci_a_person, "login": f"sci_a_{flavour.name}", "service": None}
    refused = post(sci_a, 422, sessionId=d.sessions["a"], text="x", beamLineName=BEAMLINE_B)
    assert "beamLineName" in refused["detail"]
    post(sci_a, 422, sessionId=d.sessions["a"], text="x", proposalId=proposal_id)  # never taken from a body


def test_who_may_write_what(flavour: Flavour) -> None:
    d = flavour.data
    a, b = d.sessions["a"], d.sessions["b"]
    c = {role: Caller(flavour, role) for role in ("sci_a", "sci_b", "staff", "admin", "nobody", "pipeline")}
    post(c["sci_a"], 403, sessionId=a, kind="fault", text="x")  # a member writes notes only
    post(c["sci_b"], 404, sessionId=a, text="x")  # out of reach: absent
    post(c["nobody"], 404, sessionId=a, text="x")
    post(c["sci_a"], 404, sessionId=2**32 - 1, text="x")
    post(c["sci_a"], 403, beamLineName=BEAMLINE_A, kind="note", text="x")  # beamline-wide: staff only
    post(c["staff"], 404, sessionId=b, kind="fault", text="x")  # staff of tb01, not tb02
    post(c["staff"], 403, beamLineName=BEAMLINE_B, kind="beam", text="x")
    post(c["staff"], 201, sessionId=a, kind="robot", text="x")
    post(c["pipeline"], 201, sessionId=b, kind="processing", text="x")  # pipelines write into any session
    post(c["admin"], 201, beamLineName=BEAMLINE_B, kind="alarm", text="x")
    refused = post(c["admin"], 422, beamLineName="zz-no-such-beamline", text="x")
    assert "beamLineName" in refused["detail"]
    everything = walk(c["admin"], 50)
    assert sorted(e["kind"] for e in everything) == ["alarm", "processing", "robot"]


def test_linked_objects_belong_to_the_entry_s_session(flavour: Flavour) -> None:
    d = flavour.data
    sci_a = Caller(flavour, "sci_a")
    result = {"kind": "mx.autoproc", "program": {"name": "xia2"}, "dataCollectionIds": [d.dcs["a0"]]}
    own_result = sci_a("POST", "/results", 201, json=result)["resultId"]
    other_result = Caller(flavour, "sci_b")("POST", "/results", 201, json=result | {"dataCollectionIds": [d.dcs["b0"]]})
    a = d.sessions["a"]
    made = post(
        sci_a, sessionId=a, text="x", dataCollectionId=d.dcs["a1"], blSampleId=d.samples["a"], resultId=own_result
    )
    assert (made["dataCollectionId"], made["blSampleId"], made["resultId"]) == (d.dcs["a1"], d.samples["a"], own_result)
    for field, value in (
        ("dataCollectionId", d.dcs["b0"]),
        ("blSampleId", d.samples["b"]),
        ("resultId", other_result["resultId"]),
        ("resultId", "0" * 24),
        ("dataCollectionId", 2**32 - 1),
    ):
        refused = post(sci_a, 422, sessionId=a, text="x", **{field: value})
        assert refused["errors"][0]["loc"] == ["body", field]
        fix = sci_a("PATCH", f"/logbook/{made['entryId']}", 422, json={field: value})
        assert fix["errors"][0]["loc"] == ["body", field]
    wide = post(Caller(flavour, "staff"), beamLineName=BEAMLINE_A, kind="beam", text="x")
    post(Caller(flavour, "staff"), 422, beamLineName=BEAMLINE_A, text="x", dataCollectionId=d.dcs["a0"])
    Caller(flavour, "staff")("PATCH", f"/logbook/{wide['entryId']}", 422, json={"blSampleId": d.samples["a"]})
    assert len(walk(Caller(flavour, "admin"), 50)) == 2


def test_corrections_are_new_versions(flavour: Flavour) -> None:
    d = flavour.data
    sci_a, staff, admin = Caller(flavour, "sci_a"), Caller(flavour, "staff"), Caller(flavour, "admin")
    made = post(sci_a, sessionId=d.sessions["a"], text="first", tags=["t1"], time=at(0))
    path = f"/logbook/{made['entryId']}"
    second = sci_a("PATCH", path, 200, json={"text": "second", "time": at(5)})
    assert (second["version"], second["text"], second["tags"], second["time"]) == (2, "second", ["t1"], at(5))
    staff("PATCH", path, 200, json={"tags": ["t2"], "kind": "fault"})  # staff of tb01 correct and re-kind
    Caller(flavour, "sci_b")("PATCH", path, 404, json={"text": "x"})
    Caller(flavour, "pipeline")("PATCH", path, 404, json={"text": "x"})  # writes into any session, sees none
    sci_a("PATCH", path, 403, json={"kind": "alarm"})
    sci_a("PATCH", path, 422, json={})
    sci_a("PATCH", path, 422, json={"text": None})
    sci_a("PATCH", path, 422, json={"sessionId": d.sessions["b"]})  # an entry never moves
    history = admin("GET", path, 200)
    assert [v["version"] for v in history["versions"]] == [1, 2, 3]
    assert [v["latest"] for v in history["versions"]] == [False, False, True]
    assert [v["text"] for v in history["versions"]] == ["first", "second", "second"]
    assert [v["author"]["personId"] for v in history["versions"]] == [d.persons[r] for r in ("sci_a",) * 2 + ("staff",)]
    assert (history["version"], history["kind"], history["tags"]) == (3, "fault", ["t2"])
    assert [(e["entryId"], e["version"]) for e in walk(admin)] == [(made["entryId"], 3)]
    assert walk(admin, kind="note") == [] and walk(admin, q="first") == []


def test_racing_correctors_lose_no_version_and_leave_one_latest(flavour: Flavour) -> None:
    made = post(Caller(flavour, "sci_a"), sessionId=flavour.data.sessions["a"], text="v1")

    async def race(db: Any) -> list[Any]:
        docs = flavour.state.documents.db
        fixes = [{"text": f"fix {n}"} for n in range(12)]
        return await asyncio.gather(
            *(logbook.add_version(docs, made["entryId"], fix, {"service": "t"}) for fix in fixes)
        )

    written = flavour.run(race)
    assert sorted(w["version"] for w in written) == list(range(2, 14))
    history = Caller(flavour, "admin")("GET", f"/logbook/{made['entryId']}", 200)["versions"]
    assert [v["version"] for v in history] == list(range(1, 14))
    assert sorted(v["text"] for v in history[1:]) == sorted(f"fix {n}" for n in range(12))
    assert [v["version"] for v in history if v["latest"]] == [13]


def test_a_writer_that_gives_way_writes_at_most_once_per_version(flavour: Flavour) -> None:
    made = post(Caller(flavour, "sci_a"), sessionId=flavour.data.sessions["a"], text="v1")

    async def race(db: Any) -> list[Any]:
        docs = flavour.state.documents.db
        change = {"text": "from SQL"}
        writers = (logbook.add_version(docs, made["entryId"], change, {"service": "t"}, retry=False) for _ in "abcd")
        return await asyncio.gather(*writers)

    written = [w for w in flavour.run(race) if w is not None]
    history = Caller(flavour, "admin")("GET", f"/logbook/{made['entryId']}", 200)["versions"]
    assert [v["version"] for v in history] == list(range(1, len(written) + 2))
    assert sorted(w["version"] for w in written) == list(range(2, len(written) + 2))


def test_text_search_is_a_literal_case_insensitive_substring(flavour: Flavour) -> None:
    sci_a, a = Caller(flavour, "sci_a"), flavour.data.sessions["a"]
    texts = ["Beam LOST at 10:00 (a.b*)", "beam lost again", "Ünïcode ÉCOLE", "all fine", "[x]+ $where"]
    made = {t: post(sci_a, sessionId=a, text=t)["entryId"] for t in texts}
    for q in ("lost", "A.B*", ".*", "(", "école", "[x]+", "$where", "^Beam", "beam lost"):
        expected = {made[t] for t in texts if q.casefold() in t.casefold()}
        assert set(ids(walk(sci_a, 10, q=q))) == expected, q
    assert walk(Caller(flavour, "sci_b"), 10, q="lost") == []


def test_every_punctuation_character_is_searched_literally(flavour: Flavour) -> None:
    sci_a, a = Caller(flavour, "sci_a"), flavour.data.sessions["a"]
    for char in string.punctuation:
        post(sci_a, sessionId=a, text=f"left{char}right")
    for char in string.punctuation + " ":
        expected = [f"left{char}right"] if char != " " else []
        assert [e["text"] for e in walk(sci_a, 50, q=f"t{char}r")] == expected, char


def test_cursor_pages_cover_everything_once_newest_first(flavour: Flavour) -> None:
    sci_a, a = Caller(flavour, "sci_a"), flavour.data.sessions["a"]
    minutes = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]  # ties on time are ordered too
    made = [post(sci_a, sessionId=a, text=f"n{i}", time=at(m)) for i, m in enumerate(minutes)]
    for size in (1, 3, 4, 11, 12):
        got = walk(sci_a, size)
        assert sorted(ids(got)) == sorted(ids(made)) and len(got) == len(made)
        assert [e["time"] for e in got] == sorted((e["time"] for e in made), reverse=True)
    first = sci_a("GET", "/logbook", 200, params={"limit": 3})
    assert first["limit"] == 3 and first["next"]
    assert sci_a("GET", "/logbook", 200, params={"limit": 11})["next"] is None


def test_pages_span_the_time_windows(flavour: Flavour) -> None:
    """Entries from an hour ahead to ten years back, read a window at a time (documents.logbook.WINDOWS)."""
    sci_a, a = Caller(flavour, "sci_a"), flavour.data.sessions["a"]
    now = datetime.now(UTC)
    ago = [-0.02, 0, 0.5, 1, 1.01, 3, 8.5, 30, 64.5, 300, 513, 1000, 3650]  # days back
    made = {
        n: post(sci_a, sessionId=a, text=f"d{n}", time=(now - timedelta(days=d)).isoformat()) for n, d in enumerate(ago)
    }
    expected = [made[n]["entryId"] for n in sorted(made, key=lambda n: ago[n])]
    for size in (1, 2, 5, 13):
        assert ids(walk(sci_a, size)) == expected
        assert ids(walk(sci_a, size, sessionId=a)) == expected
    since = (now - timedelta(days=64.6)).isoformat()
    assert ids(walk(sci_a, 2, **{"from": since})) == expected[:9]


def test_a_page_of_long_texts_ends_early(flavour: Flavour, monkeypatch: pytest.MonkeyPatch) -> None:
    sci_a, a = Caller(flavour, "sci_a"), flavour.data.sessions["a"]
    made = [post(sci_a, sessionId=a, text=f"{n}" * 6, time=at(n)) for n in range(4)]
    monkeypatch.setattr(logbook, "PAGE_TEXT_CHARS", 13)  # two texts, not three
    first = sci_a("GET", "/logbook", 200, params={"limit": 4})
    assert [e["text"] for e in first["results"]] == ["333333", "222222"] and first["next"]
    assert ids(walk(sci_a, 4)) == ids(made)[::-1]


def encode(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    ["abc", "!!!", encode(["x", "0" * 24]), encode([1, "zz"]), encode([10**30, "0" * 24]), encode({}), encode(1.5)],
)
def test_a_tampered_cursor_is_422(flavour: Flavour, cursor: str) -> None:
    refused = Caller(flavour, "sci_a")("GET", "/logbook", 422, params={"cursor": cursor})
    assert "cursor" in refused["detail"]


def test_kinds_are_the_built_in_ones_and_the_facility_s(flavour: Flavour, monkeypatch: pytest.MonkeyPatch) -> None:
    sci_a, staff, a = Caller(flavour, "sci_a"), Caller(flavour, "staff"), flavour.data.sessions["a"]
    listed = sci_a("GET", "/logbook/kinds", 200)
    assert listed == [{"kind": k, "builtIn": True} for k in ("note", "fault", "robot", "beam", "processing", "alarm")]
    post(staff, 422, sessionId=a, kind="cryo", text="x")
    monkeypatch.setattr(flavour.state.settings, "logbook_kinds", ["cryo", "note"])
    assert kinds(flavour.state.settings) == [*BUILTIN_KINDS, "cryo"]
    assert sci_a("GET", "/logbook/kinds", 200)[-1] == {"kind": "cryo", "builtIn": False}
    assert post(staff, sessionId=a, kind="cryo", text="x")["kind"] == "cryo"


LONG = "x" * 100_000


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"$where": "1"}, "$where"),
        ({"a.b": 1}, "a.b"),
        ({"text": ""}, "text"),
        ({"kind": "bogus"}, "kind"),
        ({"kind": LONG}, "kind"),
        ({"sessionId": 2**64}, "sessionId"),
        ({"sessionId": "1; DROP"}, "sessionId"),
        ({"sessionId": True}, "sessionId"),
        ({"dataCollectionId": 1.0}, "dataCollectionId"),
        ({"tags": ["t"] * 21}, "tags"),
        ({"tags": ["x" * 51]}, "tags"),
        ({"tags": ["a\nb"]}, "tags"),
        ({"tags": [{"$gt": ""}]}, "tags"),
        ({"attachments": [{"name": "a", "url": "javascript:alert(1)"}]}, "url"),
        ({"attachments": [{"name": "a", "url": "ftp://host/x"}]}, "url"),
        ({"attachments": [{"name": "a", "path": "data/x.h5"}]}, "path"),
        ({"attachments": [{"name": "a", "path": "/data/../etc/passwd"}]}, "path"),
        ({"attachments": [{"name": "a"}]}, "url"),
        ({"attachments": [{"name": "a", "url": "https://x/y", "$set": 1}]}, "$set"),
        ({"attachments": [{"name": "a", "url": "https://x/y"}] * 21}, "attachments"),
        ({"time": (datetime.now(UTC) + timedelta(days=2)).isoformat()}, "time"),
        ({"time": "9999-12-31T23:59:59+14:00"}, "time"),
        ({"resultId": "not-an-id"}, "resultId"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(flavour: Flavour, change: dict[str, Any], where: str) -> None:
    staff = Caller(flavour, "staff")
    body = {"sessionId": flavour.data.sessions["a"], "kind": "note", "text": "fine"} | change
    refused = staff("POST", "/logbook", 422, json=body)
    assert where in json.dumps(refused)
    assert walk(Caller(flavour, "admin"), 10) == []


def test_text_is_limited_in_utf8_bytes(flavour: Flavour) -> None:
    sci_a, a = Caller(flavour, "sci_a"), flavour.data.sessions["a"]
    limit = flavour.state.settings.logbook_max_bytes
    assert limit % 2 == 0
    exact = "é" * (limit // 2)  # two bytes each
    made = post(sci_a, sessionId=a, text=exact)
    refused = post(sci_a, 413, sessionId=a, text=exact + "x")
    assert str(limit) in refused["detail"]
    sci_a("PATCH", f"/logbook/{made['entryId']}", 413, json={"text": exact + "é"})
    assert [len(e["text"]) for e in walk(sci_a, 10)] == [limit // 2]


def test_an_api_key_writes_as_its_service_and_only_staff_correct_that(flavour: Flavour) -> None:
    flavour.run(grant, flavour.data.persons["admin"], MANAGE)
    body = {"name": "mxcube tb01", "login": f"staff_{flavour.name}", "permissions": [STAFF_PERMISSION]}
    key = Caller(flavour, "admin")("POST", "/api-keys", 201, json=body)["key"]
    robot = Caller(flavour, "nobody")
    robot.headers = {"Authorization": f"Bearer {key}"}
    made = post(robot, sessionId=flavour.data.sessions["a"], kind="robot", text="sample loaded")
    assert made["author"] == {"personId": None, "login": None, "service": "mxcube tb01"}
    Caller(flavour, "sci_a")("PATCH", f"/logbook/{made['entryId']}", 403, json={"text": "x"})
    fixed = Caller(flavour, "staff")("PATCH", f"/logbook/{made['entryId']}", 200, json={"text": "sample 2 loaded"})
    assert fixed["author"]["personId"] == flavour.data.persons["staff"]
