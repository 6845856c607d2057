"""The OpenAPI components py-ispyb-ui renders as forms are form-friendly (app/openapi_forms.py): no request-body
component describes an optional field as ``anyOf`` with null, while the models validate as strictly as before; and
the UI's own form library (RJSF, the versions its package-lock.json pins) renders each form the UI builds, with the
service's real answers as the view forms' data. The RJSF check runs when node and tests/forms/node_modules are
there (``cd tests/forms && npm install``); it is skipped otherwise."""

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.openapi.utils import get_openapi
from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.main import create_app
from app.openapi_forms import VIEW_FORMS, form_components
from app.settings import Settings
from relational.models import Shipping
from schemas.samples import LabContactCreate
from schemas.shipping import ShippingCreate
from tests.conftest import Flavour
from tests.test_labcontacts import LAB
from tests.test_shipping import Caller, proposal_id, uid

FORMS = Path(__file__).parent / "forms"
NULL = {"type": "null"}
HIDDEN = {"ui:classNames": "hidden-row", "ui:widget": "hidden"}
CONTACT_SELECT = {"ui:widget": "remoteSelect", "ui:options": {"key": "cardName", "value": "labContactId"}}


@pytest.fixture(scope="module")
def app_and_spec() -> tuple[Any, dict[str, Any]]:
    settings = Settings(_env_file=None, mode="dev", sql_url="sqlite+aiosqlite:///x.sqlite", auth_plugins=["dummy"])
    app = create_app(settings)
    return app, app.openapi()


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _nodes(item)


def _null_any_of(node: Any) -> list[dict[str, Any]]:
    return [n for n in _nodes(node) if NULL in n.get("anyOf", [])]


def test_no_request_body_component_has_any_of_with_null(app_and_spec: tuple[Any, dict[str, Any]]) -> None:
    _, spec = app_and_spec
    components = spec["components"]["schemas"]
    forms = form_components(spec)
    bodies = [op["requestBody"] for ops in spec["paths"].values() for op in ops.values() if "requestBody" in op]
    assert len(bodies) > 40 and {"ShippingCreate", "LabContactCreate", "DewarCreate", *VIEW_FORMS} <= forms
    assert {name: _null_any_of(components[name]) for name in forms if _null_any_of(components[name])} == {}
    assert _null_any_of(bodies) == []
    # a response the UI shows as a list, not a form, keeps pydantic's own schema
    assert components["Sample"]["properties"]["name"] == {"anyOf": [{"type": "string"}, NULL], "title": "Name"}


def test_optional_fields_keep_their_type_bounds_and_nullability(app_and_spec: tuple[Any, dict[str, Any]]) -> None:
    _, spec = app_and_spec
    shipping = spec["components"]["schemas"]["ShippingCreate"]["properties"]
    assert shipping["comments"] == {"type": ["string", "null"], "maxLength": 255, "title": "Comments"}
    assert shipping["sendingLabContactId"] == {
        "type": ["integer", "null"],
        "minimum": 1,
        "title": "Sendinglabcontactid",
        "description": "Sender; for hand-carried, who brings it",
    }
    assert shipping["deliveryMode"] == {
        "$ref": "#/components/schemas/DeliveryMode",
        "description": "courier or hand-carried",
    }
    person = spec["components"]["schemas"]["LabContactCreate"]["properties"]["Person"]
    assert person["type"] == ["object", "null"] and "$ref" not in person
    assert person["properties"]["Laboratory"]["type"] == ["object", "null"]
    assert person["properties"]["Laboratory"]["required"] == ["name", "address", "city", "country"]
    # a view form's times are SQL times, answered without an offset
    assert spec["components"]["schemas"]["Shipping"]["properties"]["creationDate"] == {
        "type": ["string", "null"],
        "title": "Creationdate",
    }


def test_validation_is_as_strict_as_the_models(app_and_spec: tuple[Any, dict[str, Any]]) -> None:
    """The published schema changed, the models did not: null is still accepted where it was, bounds still hold."""
    body = {"proposalId": 1, "shippingName": "s", "comments": None, "sendingLabContactId": None}
    assert ShippingCreate.model_validate(body).comments is None
    for bad in ({"comments": "x" * 256}, {"sendingLabContactId": 0}, {"deliveryMode": "pigeon"}, {"extra": 1}):
        with pytest.raises(ValidationError):
            ShippingCreate.model_validate(body | bad)
    with pytest.raises(ValidationError):
        LabContactCreate.model_validate({"proposalId": 1, "cardName": "c", "Person": None})


def _contact_and_shipping(flavour: Flavour) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Real answers of the service: a lab contact with a laboratory, one without, and a shipment."""
    sci, pid = Caller(flavour, "sci_a"), proposal_id(flavour, "a")
    person = {"givenName": "Ada", "familyName": "Lovelace", "phoneNumber": None}
    body = {"proposalId": pid, "cardName": f"card-{uid()}", "Person": person | {"Laboratory": LAB}}
    with_lab = sci("POST", "/labcontacts", 201, json=body)
    without = sci("POST", "/labcontacts", 201, json=body | {"cardName": f"card-{uid()}", "Person": person})
    shipping = sci("POST", "/shippings", 201, json={"proposalId": pid, "shippingName": f"s-{uid()}"})
    return with_lab, without, sci("GET", f"/shippings/{shipping['shippingId']}", 200)


def _ui_forms(
    pid: int, with_lab: dict[str, Any], without: dict[str, Any], shipping: dict[str, Any], options: dict[str, Any]
) -> list[Any]:
    """The forms py-ispyb-ui builds (src/components/{Shippings,LabContacts,Admin}), with their uiSchemas."""
    ship_ui = {"proposalId": HIDDEN, "sendingLabContactId": CONTACT_SELECT, "returnLabContactId": CONTACT_SELECT}
    ship_ui |= {"comments": {"ui:widget": "textarea"}}
    lab_hidden = {"laboratoryExtPk": HIDDEN, "recordTimeStamp": HIDDEN}
    contact_ui = {"proposalId": HIDDEN, "Person": {"Laboratory": lab_hidden}}
    view_contact_ui = contact_ui | {"labContactId": HIDDEN, "personId": HIDDEN, "recordTimeStamp": HIDDEN}
    view_contact_ui["Person"] = {"Laboratory": lab_hidden | {"laboratoryId": HIDDEN}}
    view_ship_ui = ship_ui | {"shippingId": HIDDEN, "LabContact": HIDDEN, "LabContact1": HIDDEN, "_metadata": HIDDEN}
    return [
        {"name": "Create Shipment", "schema": "ShippingCreate", "uiSchema": ship_ui, "formData": {"proposalId": pid}},
        {
            "name": "Create Lab Contact",
            "schema": "LabContactCreate",
            "uiSchema": contact_ui,
            "formData": {"proposalId": pid},
        },
        {"name": "View Shipment", "schema": "Shipping", "uiSchema": view_ship_ui, "formData": shipping, "inline": True},
        {
            "name": "View Lab Contact",
            "schema": "LabContact",
            "uiSchema": view_contact_ui,
            "formData": with_lab,
            "inline": True,
        },
        {
            "name": "View Lab Contact, no laboratory",
            "schema": "LabContact",
            "uiSchema": view_contact_ui,
            "formData": without,
            "inline": True,
        },
        {"name": "Admin Options", "schema": "Options", "uiSchema": {}, "formData": options},
    ]


def _render(spec: dict[str, Any], forms: list[Any]) -> tuple[int, dict[str, Any]]:
    run = subprocess.run(
        ["node", "render.js"],
        cwd=FORMS,
        input=json.dumps({"spec": spec, "forms": forms}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.stdout, run.stderr
    return run.returncode, {line["name"]: line for line in map(json.loads, run.stdout.splitlines())}


@pytest.mark.skipif(
    shutil.which("node") is None or not (FORMS / "node_modules" / "@rjsf" / "core").is_dir(),
    reason="the RJSF check needs node and `npm install` in tests/forms",
)
def test_rjsf_renders_every_form_of_the_ui(flavour: Flavour, app_and_spec: tuple[Any, dict[str, Any]]) -> None:
    app, spec = app_and_spec
    with_lab, without, shipping = _contact_and_shipping(flavour)
    assert without["Person"]["Laboratory"] is None and shipping["bltimeStamp"] is not None
    options = Caller(flavour, "manager")("GET", "/options", 200)
    forms = _ui_forms(proposal_id(flavour, "a"), with_lab, without, shipping, options)
    status, results = _render(spec, forms)
    assert {name: r["problem"] for name, r in results.items() if not r["ok"]} == {} and status == 0
    assert len(results) == len(forms)
    # the check can fail: pydantic's own schemas (FastAPI's OpenAPI before the rewriting) break the same forms
    raw = get_openapi(title="raw", version="0", routes=app.routes)
    status, results = _render(raw, forms)
    assert status == 1
    assert "No widget 'textarea' for type 'number'" in results["Create Shipment"]["problem"]
    assert results["Create Lab Contact"]["problem"] == 'an anyOf/oneOf selector ("Option 1/2")'


async def _stamp(db: AsyncSession, shipping_id: int, stamp: datetime | None, created: datetime | None) -> None:
    await db.execute(
        update(Shipping).where(Shipping.shippingId == shipping_id).values(bltimeStamp=stamp, creationDate=created)
    )


def test_the_shipments_created_column_reads_bltimestamp(flavour: Flavour) -> None:
    """The UI's shipment list shows ``bltimeStamp`` as "Created": the row's own, else its ``creationDate``."""
    sci, pid = Caller(flavour, "sci_a"), proposal_id(flavour, "a")
    made = sci("POST", "/shippings", 201, json={"proposalId": pid, "shippingName": f"s-{uid()}"})
    assert made["bltimeStamp"] == made["creationDate"] and made["bltimeStamp"] is not None
    sid, then = made["shippingId"], datetime(2023, 5, 4, 3, 2, 1)
    flavour.run(_stamp, sid, None, then)
    assert sci("GET", f"/shippings/{sid}", 200)["bltimeStamp"] == "2023-05-04T03:02:01"
    flavour.run(_stamp, sid, then.replace(year=2022), then)
    listed = sci("GET", "/shippings", 200, params={"proposal": flavour.data.proposals["a"], "limit": 1000})
    assert [s["bltimeStamp"] for s in listed["results"] if s["shippingId"] == sid] == ["2022-05-04T03:02:01"]
