"""GraphQL's relational types are REST's answer models (``app.graphql.types.rest_type``): the helper keeps REST's
names, nullability and nesting and refuses a second, different list; over the wire, what a type computes or nests
(a shipment's delivery mode, a contact's person and laboratory) equals REST on both flavours, through every entry
point; federation's representations hold their key and nothing else."""

from enum import StrEnum
from typing import Any

import pytest
import strawberry
from pydantic import BaseModel, Field

from app.graphql import loaders
from app.graphql.types import build, rest_type
from tests.conftest import Flavour
from tests.test_shipping import Caller, contact, courier, proposal_id, uid

API = "/ispyb/api/v1"


class Mode(StrEnum):
    by_hand = "by-hand"


class Inner(BaseModel):
    innerId: int
    note: str | None = Field(description="REST's note")


class Outer(BaseModel):
    outerId: int
    cell_a: float | None
    mode: Mode | None
    Inner: Inner | None
    metadata: dict[str, int] = Field(alias="_metadata")


def test_a_type_serves_rests_fields_names_and_nesting() -> None:
    """Snake-case names stay as REST spells them, a string enum is its value, a nested REST model is the type
    served of it (built from a nested row), REST's descriptions come along, and what ``without`` names is left out."""

    @rest_type(Inner, description="inner")
    class InnerType:
        pass

    @rest_type(Outer, without=("metadata",), key="outerId", loader=loaders.PROPOSALS, description="outer")
    class OuterType:
        outerId: int

    @strawberry.type
    class Query:
        @strawberry.field
        def outer(self) -> OuterType:
            row = {"outerId": 7, "cell_a": 1.5, "mode": Mode.by_hand, "Inner": {"innerId": 3, "note": "n"}}
            return build(OuterType, row)

    schema = strawberry.federation.Schema(query=Query, federation_version="2.5")
    sdl = schema.as_str()
    assert 'type OuterType @key(fields: "outerId")' in sdl
    assert "cell_a: Float\n" in sdl and "cellA" not in sdl and "metadata" not in sdl
    assert "mode: String\n" in sdl and "Inner: InnerType\n" in sdl and '"""REST\'s note"""' in sdl
    answer = schema.execute_sync("{ outer { outerId cell_a mode Inner { innerId note } } }")
    assert answer.errors is None
    assert answer.data == {
        "outer": {"outerId": 7, "cell_a": 1.5, "mode": "by-hand", "Inner": {"innerId": 3, "note": "n"}}
    }
    assert InnerType.__module__ == __name__


def test_a_second_list_of_fields_is_refused() -> None:
    """A ``without`` naming no field of REST's, or a field of REST's declared with another type, fails at import."""
    with pytest.raises(TypeError, match=r"Outer has no field \['Metadata'\]"):
        rest_type(Outer, without=("Metadata",), description="typo")

    with pytest.raises(TypeError, match="OuterType.outerId is declared int | None"):

        @rest_type(Outer, without=("metadata", "Inner"), description="nullable where REST is not")
        class OuterType:
            outerId: int | None


def gql(f: Flavour, query: str, **variables: Any) -> dict[str, Any]:
    r = f.client.post(f"{API}/graphql", json={"query": query, "variables": variables}, headers=f.token("sci_a"))
    assert r.status_code == 200, r.text[:400]
    answer: dict[str, Any] = r.json()
    return answer


SHIPPING = (
    "shippingId deliveryMode sendingLabContact { labContactId cardName Person { givenName Laboratory { city } } }"
)


def test_delivery_mode_and_contacts_equal_rest(flavour: Flavour) -> None:
    """A courier and a hand-carried shipment: the mode, and the sending contact with its person and laboratory, are
    REST's through the root list, the single shipment, the proposal's edge and federation's _entities."""
    sci = Caller(flavour, "sci_a")
    pid = proposal_id(flavour, "a")
    lab = {"name": "Lab", "address": "1 Road", "city": f"City-{uid()}", "country": "France"}
    person = {"givenName": "Ada", "familyName": "Lovelace", "Laboratory": lab}
    body = {"proposalId": pid, "cardName": f"card-{uid()}", "Person": person}
    who = sci("POST", "/labcontacts", 201, json=body)["labContactId"]
    hand = {
        "proposalId": pid,
        "shippingName": f"hand-{uid()}",
        "deliveryMode": "hand-carried",
        "sendingLabContactId": who,
        "deliveryAgent_deliveryDate": "2026-12-02",
    }
    made = [sci("POST", "/shippings", 201, json=b)["shippingId"] for b in (courier(pid), hand)]
    served = {s: sci("GET", f"/shippings/{s}", 200) for s in made}
    assert {s["deliveryMode"] for s in served.values()} == {"courier", "hand-carried"}
    card = sci("GET", f"/labcontacts/{who}", 200)
    want_contact = {
        "labContactId": who,
        "cardName": card["cardName"],
        "Person": {"givenName": "Ada", "Laboratory": {"city": card["Person"]["Laboratory"]["city"]}},
    }
    assert want_contact["Person"]["Laboratory"]["city"] == lab["city"]

    def check(found: dict[str, Any]) -> None:
        rest = served[found["shippingId"]]
        assert found["deliveryMode"] == rest["deliveryMode"]
        assert found["sendingLabContact"] == (want_contact if rest["sendingLabContactId"] == who else None)

    query = f"""query($s: Int!, $p: String!, $r: [_Any!]!) {{
      shipping(shippingId: $s) {{ {SHIPPING} }}
      shippings(proposal: $p, first: 100) {{ edges {{ node {{ {SHIPPING} }} }} }}
      proposal(proposal: $p) {{ shippings(first: 100) {{ edges {{ node {{ {SHIPPING} }} }} }} }}
      _entities(representations: $r) {{ ... on Shipping {{ {SHIPPING} }} }}
    }}"""
    for sid in made:
        representations = [{"__typename": "Shipping", "shippingId": s} for s in made]
        answer = gql(flavour, query, s=sid, p=flavour.data.proposals["a"], r=representations)
        assert "errors" not in answer, answer
        data = answer["data"]
        check(data["shipping"])
        for listed in (data["shippings"], data["proposal"]["shippings"]):
            nodes = {e["node"]["shippingId"]: e["node"] for e in listed["edges"]}
            assert set(made) <= set(nodes)
            for found in nodes.values():
                if found["shippingId"] in made:
                    check(found)
        assert [e["shippingId"] for e in data["_entities"]] == made
        for found in data["_entities"]:
            check(found)


@pytest.mark.parametrize(
    ("representation", "named"),
    [
        ({"__typename": "LabContact"}, "labContactId"),
        ({"__typename": "LabContact", "labContactId": 1, "cardName": "x"}, "labContactId"),
        ({"__typename": "LabContact", "labContactId": "12345678901"}, "`labContactId` must be an id"),
    ],
)
def test_a_representation_holds_its_key_alone(flavour: Flavour, representation: dict[str, Any], named: str) -> None:
    answer = gql(flavour, "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }", r=[representation])
    assert answer["data"] == {"_entities": [None]}
    assert len(answer["errors"]) == 1 and named in answer["errors"][0]["message"], answer


def test_a_contact_through_entities_equals_rest(flavour: Flavour) -> None:
    """A lab contact found by its key is REST's, person and laboratory nested; sci_b's is null."""
    who = contact(Caller(flavour, "sci_a"), proposal_id(flavour, "a"))
    theirs = contact(Caller(flavour, "sci_b"), proposal_id(flavour, "b"))
    rest = Caller(flavour, "sci_a")("GET", f"/labcontacts/{who}", 200)
    fields = "labContactId cardName recordTimeStamp Person { personId givenName familyName Laboratory { name } }"
    query = f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ ... on LabContact {{ {fields} }} }} }}"
    keys = [{"__typename": "LabContact", "labContactId": c} for c in (who, theirs)]
    answer = gql(flavour, query, r=keys)
    mine, other = answer["data"]["_entities"]
    assert other is None and "errors" not in answer  # out of reach: null, as for every entity
    person = rest["Person"]
    assert mine == {
        "labContactId": who,
        "cardName": rest["cardName"],
        "recordTimeStamp": rest["recordTimeStamp"],
        "Person": {
            "personId": person["personId"],
            "givenName": "Ada",
            "familyName": "Lovelace",
            "Laboratory": None if person["Laboratory"] is None else {"name": person["Laboratory"]["name"]},
        },
    }
