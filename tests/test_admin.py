"""py-ispyb's /admin: user groups, their permissions and people (manage_groups), permissions (manage_perms) and
the activity log (view_activity), on both flavours."""

from datetime import datetime
from typing import Any

import pytest

from relational.models.admin import AdminActivity
from tests.conftest import Flavour
from tests.factories import MANAGER_PERMISSIONS
from tests.test_shipping import API, Caller, uid

#: route → (method, path, body, the manager's status); {g} a group of the manager's, {p} one of its permissions
ROUTES = [
    ("GET", "/admin/groups", None, 200),
    ("POST", "/admin/groups", {"name": "g-{u}"}, 201),
    ("PATCH", "/admin/groups/{g}", {"name": "g-{u}"}, 200),
    ("POST", "/admin/groups/{g}/permission", {"permissionId": "{q}"}, 204),
    ("DELETE", "/admin/groups/{g}/permission/{p}", None, 204),
    ("POST", "/admin/groups/{g}/person", {"personId": "{sci}"}, 204),
    ("DELETE", "/admin/groups/{g}/person/{sci}", None, 404),
    ("GET", "/admin/permissions", None, 200),
    ("POST", "/admin/permissions", {"type": "p{u}"}, 201),
    ("PATCH", "/admin/permissions/{q}", {"description": "changed"}, 200),
    ("GET", "/admin/activity", None, 200),
]


def _group_of(manager: Caller, name: str) -> dict[str, Any]:
    groups = manager("GET", "/admin/groups", 200, params={"limit": 10_000})["results"]
    return next(g for g in groups if g["name"] == name)


def _permission(manager: Caller, kind: str) -> dict[str, Any]:
    found = manager("GET", "/admin/permissions", 200, params={"search": kind, "limit": 10_000})["results"]
    return next(p for p in found if p["type"] == kind)


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    return value.format(**ids) if isinstance(value, str) else value


def _ids(f: Flavour) -> dict[str, Any]:
    manager = Caller(f, "manager")
    group = manager("POST", "/admin/groups", 201, json={"name": f"t-{uid()}"})["userGroupId"]
    spare = manager("POST", "/admin/permissions", 201, json={"type": f"s{uid()}"})["permissionId"]
    held = manager("POST", "/admin/permissions", 201, json={"type": f"h{uid()}"})["permissionId"]
    manager("POST", f"/admin/groups/{group}/permission", 204, json={"permissionId": held})
    return {"g": group, "p": held, "q": spare, "sci": f.data.persons["sci_a"], "u": uid()}


@pytest.mark.parametrize(("method", "path", "body", "status"), ROUTES, ids=[f"{m} {p}" for m, p, *_ in ROUTES])
@pytest.mark.parametrize("role", ["manager", "sci_a", "staff", "admin", "nobody", None])
def test_permission_table(
    flavour: Flavour, role: str | None, method: str, path: str, body: dict[str, Any] | None, status: int
) -> None:
    ids = _ids(flavour)
    url, json = _fill(path, ids), _fill(body, ids)
    if role is None:
        assert flavour.client.request(method, API + url, json=json).status_code == 401
        return
    Caller(flavour, role)(method, url, status if role == "manager" else 403, json=json)


def test_groups_shape_and_counts(flavour: Flavour) -> None:
    manager = Caller(flavour, "manager")
    mine = _group_of(manager, "t_manager")
    assert mine == {
        "userGroupId": mine["userGroupId"],
        "name": "t_manager",
        "_metadata": {"permissions": 4, "people": 1},
    }
    one = manager("GET", "/admin/groups", 200, params={"userGroupId": mine["userGroupId"]})
    assert one == {"total": 1, "skip": 0, "limit": 25, "results": [mine]}
    held = manager("GET", "/admin/permissions", 200, params={"userGroupId": mine["userGroupId"]})
    assert sorted(p["type"] for p in held["results"]) == sorted(MANAGER_PERMISSIONS) and held["total"] == 4


def test_create_rename_and_conflicts(flavour: Flavour) -> None:
    manager = Caller(flavour, "manager")
    name, other = f"g-{uid()}", f"g-{uid()}"
    made = manager("POST", "/admin/groups", 201, json={"name": name})
    assert made == {"userGroupId": made["userGroupId"], "name": name, "_metadata": {"permissions": 0, "people": 0}}
    gid = made["userGroupId"]
    manager("POST", "/admin/groups", 409, json={"name": name})
    manager("POST", "/admin/groups", 409, json={"name": "t_manager"})
    assert manager("PATCH", f"/admin/groups/{gid}", 200, json={"name": other})["name"] == other
    assert manager("PATCH", f"/admin/groups/{gid}", 200, json={"name": other})["name"] == other  # its own name
    manager("PATCH", f"/admin/groups/{gid}", 409, json={"name": "t_manager"})
    manager("PATCH", f"/admin/groups/{gid}", 422, json={"name": None})
    manager("PATCH", "/admin/groups/4294967295", 404, json={"name": f"g-{uid()}"})
    assert _group_of(manager, other)["userGroupId"] == gid


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/admin/groups", {"name": ""}),
        ("/admin/groups", {"name": "x" * 32}),
        ("/admin/groups", {"name": "check ✓"}),
        ("/admin/groups", {}),
        ("/admin/groups", {"name": "n", "extra": 1}),
        ("/admin/permissions", {"type": "x" * 16}),
        ("/admin/permissions", {"type": "ok", "description": "d" * 101}),
        ("/admin/permissions", {"type": "✓"}),
        ("/admin/permissions", {"description": "no type"}),
        ("/admin/groups/1/permission", {"permissionId": 0}),
        ("/admin/groups/1/person", {"personId": 2**32}),
        ("/admin/groups/1/person", {"personId": "x"}),
    ],
)
def test_bad_input_is_422(flavour: Flavour, path: str, body: dict[str, Any]) -> None:
    Caller(flavour, "manager")("POST", path, 422, json=body)


def test_links_unknown_ids_and_duplicates(flavour: Flavour) -> None:
    manager, ids = Caller(flavour, "manager"), _ids(flavour)
    g, p, q, sci = ids["g"], ids["p"], ids["q"], ids["sci"]
    manager("POST", f"/admin/groups/{g}/permission", 409, json={"permissionId": p})
    manager("POST", f"/admin/groups/{g}/permission", 404, json={"permissionId": 4294967295})
    manager("POST", "/admin/groups/4294967295/permission", 404, json={"permissionId": q})
    manager("DELETE", f"/admin/groups/{g}/permission/{q}", 404)
    manager("POST", f"/admin/groups/{g}/person", 204, json={"personId": sci})
    manager("POST", f"/admin/groups/{g}/person", 409, json={"personId": sci})
    manager("POST", f"/admin/groups/{g}/person", 404, json={"personId": 4294967295})
    manager("DELETE", "/admin/groups/4294967295/person/1", 404)
    manager("GET", "/admin/groups/x/person", 405)
    manager("DELETE", f"/admin/groups/{g}/person/0", 422)
    group = manager("GET", "/admin/groups", 200, params={"userGroupId": g})["results"][0]
    assert group["_metadata"] == {"permissions": 1, "people": 1}
    manager("DELETE", f"/admin/groups/{g}/person/{sci}", 204)
    manager("DELETE", f"/admin/groups/{g}/person/{sci}", 404)
    manager("DELETE", f"/admin/groups/{g}/permission/{p}", 204)
    group = manager("GET", "/admin/groups", 200, params={"userGroupId": g})["results"][0]
    assert group["_metadata"] == {"permissions": 0, "people": 0}


def test_group_edits_change_permissions_at_once(flavour: Flavour) -> None:
    """The test app caches permissions 0 s (ISPYB_PERMISSION_CACHE_SECONDS): granted works, removed stops, at once."""
    manager, sci = Caller(flavour, "manager"), Caller(flavour, "sci_a")
    group = manager("POST", "/admin/groups", 201, json={"name": f"g-{uid()}"})["userGroupId"]
    options = _permission(manager, "manage_options")["permissionId"]
    sci("GET", "/options", 403)
    manager("POST", f"/admin/groups/{group}/permission", 204, json={"permissionId": options})
    sci("GET", "/options", 403)  # the group has it, sci_a is not in the group yet
    manager("POST", f"/admin/groups/{group}/person", 204, json={"personId": flavour.data.persons["sci_a"]})
    sci("GET", "/options", 200)
    sci("GET", "/admin/groups", 403)
    manager("DELETE", f"/admin/groups/{group}/permission/{options}", 204)
    sci("GET", "/options", 403)
    manager("POST", f"/admin/groups/{group}/permission", 204, json={"permissionId": options})
    sci("GET", "/options", 200)
    manager("DELETE", f"/admin/groups/{group}/person/{flavour.data.persons['sci_a']}", 204)
    sci("GET", "/options", 403)


def test_a_renamed_permission_is_renamed_for_its_holders(flavour: Flavour) -> None:
    manager = Caller(flavour, "manager")
    options = _permission(manager, "manage_options")["permissionId"]
    manager("PATCH", f"/admin/permissions/{options}", 200, json={"type": f"r{uid()}"})
    manager("GET", "/options", 403)
    manager("PATCH", f"/admin/permissions/{options}", 200, json={"type": "manage_options"})
    manager("GET", "/options", 200)


def test_permissions_create_search_update(flavour: Flavour) -> None:
    manager = Caller(flavour, "manager")
    kind = f"x{uid()}"
    made = manager("POST", "/admin/permissions", 201, json={"type": kind, "description": "A test"})
    assert made == {"permissionId": made["permissionId"], "type": kind, "description": "A test"}
    manager("POST", "/admin/permissions", 409, json={"type": kind})
    manager("POST", "/admin/permissions", 409, json={"type": "manage_groups"})
    found = manager("GET", "/admin/permissions", 200, params={"search": kind[1:]})
    assert found == {"total": 1, "skip": 0, "limit": 25, "results": [made]}
    assert manager("GET", "/admin/permissions", 200, params={"search": "%"})["total"] == 0
    one = manager("GET", "/admin/permissions", 200, params={"permissionId": made["permissionId"]})
    assert one["results"] == [made]
    changed = manager("PATCH", f"/admin/permissions/{made['permissionId']}", 200, json={"description": None})
    assert changed == made | {"description": None}
    manager("PATCH", f"/admin/permissions/{made['permissionId']}", 409, json={"type": "manage_groups"})
    manager("PATCH", f"/admin/permissions/{made['permissionId']}", 422, json={"type": None})
    manager("PATCH", "/admin/permissions/4294967295", 404, json={"description": "x"})


def test_activity(flavour: Flavour) -> None:
    async def write(db: Any) -> None:
        db.add_all(
            [
                AdminActivity(username=f"u1{uid()}", action="online", comments=None, dateTime=datetime(2024, 1, 2)),
                AdminActivity(username=f"u2{uid()}", action="db_options", comments="c", dateTime=datetime(2024, 1, 3)),
            ]
        )

    flavour.run(write)
    manager = Caller(flavour, "manager")
    listed = manager("GET", "/admin/activity", 200)
    assert listed["total"] == 2
    assert [(a["action"], a["comments"], a["dateTime"]) for a in listed["results"]] == [
        ("db_options", "c", "2024-01-03T00:00:00"),
        ("online", None, "2024-01-02T00:00:00"),
    ]
    online = manager("GET", "/admin/activity", 200, params={"action_type": "online"})
    assert [a["action"] for a in online["results"]] == ["online"]
    manager("GET", "/admin/activity", 422, params={"action_type": "other"})
