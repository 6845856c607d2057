"""Options: py-ispyb's /options (manage_options) stored in AdminVar, and /options/ui fed by them."""

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.main import create_app
from relational.models.admin import AdminVar
from tests.conftest import Flavour, make_settings
from tests.test_shipping import API, Caller

GROUPS = [
    {
        "groupName": "TB",
        "uiGroup": "mx",
        "permission": "tb_staff",
        "beamLines": [
            {"beamLineName": "tb01", "sampleChangerType": None, "sampleChangerCapacity": None, "archived": False}
        ],
    }
]


async def _rows(db: AsyncSession) -> list[tuple[str | None, str | None]]:
    query = select(AdminVar.name, AdminVar.value).where(AdminVar.name == "motd").order_by(AdminVar.varId)
    return [(name, value) for name, value in await db.execute(query)]


@pytest.mark.parametrize(
    ("role", "method", "expect"),
    [
        ("manager", "GET", 200),
        ("manager", "PATCH", 200),
        ("sci_a", "GET", 403),
        ("sci_a", "PATCH", 403),
        ("staff", "PATCH", 403),
        ("admin", "GET", 403),
        ("nobody", "PATCH", 403),
    ],
)
def test_permission_table(flavour: Flavour, role: str, method: str, expect: int) -> None:
    body = {"motd": "hello"} if method == "PATCH" else None
    Caller(flavour, role)(method, "/options", expect, json=body)


def test_unauthenticated(flavour: Flavour) -> None:
    for method, path in (("GET", "/options"), ("PATCH", "/options"), ("GET", "/options/ui")):
        assert flavour.client.request(method, API + path, json={}).status_code == 401


def test_round_trip_feeds_the_ui_options(flavour: Flavour) -> None:
    manager, sci = Caller(flavour, "manager"), Caller(flavour, "sci_a")
    assert manager("GET", "/options", 200) == {"motd": "", "beamLineGroups": GROUPS}
    assert sci("GET", "/options/ui", 200) == {"motd": "", "beamLineGroups": GROUPS}
    motd = "Beam back at 14:00 — ünïcode ✓"
    assert manager("PATCH", "/options", 200, json={"motd": motd}) == {"motd": motd, "beamLineGroups": GROUPS}
    assert manager("GET", "/options", 200)["motd"] == motd
    assert sci("GET", "/options/ui", 200) == {"motd": motd, "beamLineGroups": GROUPS}
    # stored as py-ispyb stored it (JSON), one row, updated in place
    manager("PATCH", "/options", 200, json={"motd": "second"})
    assert flavour.run(_rows) == [("motd", '"second"')]
    # the UI's form sends the whole object back, the groups unchanged: accepted
    assert manager("PATCH", "/options", 200, json={"motd": "", "beamLineGroups": GROUPS})["motd"] == ""
    assert sci("GET", "/options/ui", 200)["motd"] == ""


def test_an_empty_patch_changes_nothing(flavour: Flavour) -> None:
    manager = Caller(flavour, "manager")
    manager("PATCH", "/options", 200, json={"motd": "kept"})
    assert manager("PATCH", "/options", 200, json={})["motd"] == "kept"


def test_a_row_written_by_another_tool_is_read(flavour: Flavour) -> None:
    """A plain-text value (not JSON) is read as text, as py-ispyb read it; the newest of two rows wins."""

    async def write(db: AsyncSession) -> None:
        db.add_all([AdminVar(name="motd", value="old"), AdminVar(name="motd", value="plain text")])

    flavour.run(write)
    assert Caller(flavour, "sci_b")("GET", "/options/ui", 200)["motd"] == "plain text"


@pytest.mark.parametrize(
    "body",
    [
        {"motd": 5},
        {"motd": None},
        {"query_debug": True},
        {"create_person_on_missing": True},
        {"beamLineGroups": [{"groupName": "x"}]},
        {"beamLineGroups": [{"groupName": "All", "uiGroup": "mx", "permission": "tb_staff", "beamLines": []}]},
        {"beamLineGroups": []},
        {"motd": "x" * 1023},
        {"motd": "é" * 200},
    ],
)
def test_bad_input_is_422_and_stores_nothing(flavour: Flavour, body: dict[str, object]) -> None:
    manager = Caller(flavour, "manager")
    manager("PATCH", "/options", 422, json=body)
    assert manager("GET", "/options", 200) == {"motd": "", "beamLineGroups": GROUPS}
    assert flavour.run(_rows) == []


def test_the_options_form_schema(flavour: Flavour) -> None:
    """The UI renders ``#/components/schemas/Options`` as its Admin → Options form."""
    spec = flavour.client.get(API + "/openapi.json").json()
    options = spec["components"]["schemas"]["Options"]
    assert sorted(options["properties"]) == ["beamLineGroups", "motd"]
    assert options["properties"]["motd"]["type"] == "string"


@pytest.mark.commits  # a second app of its own (another worker), which sees only committed rows
def test_another_worker_sees_a_change_at_once(flavour: Flavour, mongo_url: str, oidc_key: rsa.RSAPrivateKey) -> None:
    settings = make_settings(flavour.url, mongo_url, flavour.database, oidc_key, motd="from the setting")
    manager, motd = Caller(flavour, "manager"), f"changed {uuid.uuid4().hex[:8]}"
    try:
        with TestClient(create_app(settings)) as other:
            headers = {"Authorization": flavour.token("sci_a")["Authorization"]}
            before = other.get(API + "/options/ui", headers=headers).json()["motd"]
            manager("PATCH", "/options", 200, json={"motd": motd})
            assert other.get(API + "/options/ui", headers=headers).json()["motd"] == motd != before
    finally:
        flavour.run(_forget_motd)


async def _forget_motd(db: AsyncSession) -> None:
    await db.execute(delete(AdminVar).where(AdminVar.name == "motd"))
