"""LabContact, with its Person and the person's Laboratory (as REST nests them)."""

from datetime import datetime
from typing import Any, Self

import strawberry

from app.graphql import loaders
from app.graphql.context import Context
from app.graphql.types import build

Info = strawberry.Info[Context, None]


@strawberry.type
class Laboratory:
    laboratoryId: int
    name: str | None
    address: str | None
    city: str | None
    country: str | None
    url: str | None
    postcode: str | None = strawberry.field(description="null where the database has no postcode column")
    laboratoryExtPk: int | None = strawberry.field(description="null where the database has no such column")


@strawberry.type
class Person:
    personId: int
    givenName: str | None
    familyName: str | None
    emailAddress: str | None
    phoneNumber: str | None
    laboratory: Laboratory | None = strawberry.field(name="Laboratory")


@strawberry.federation.type(keys=["labContactId"], description="Who sends or receives a proposal's shipments")
class LabContact:
    labContactId: int
    proposalId: int
    cardName: str
    defaultCourrierCompany: str | None
    courierAccount: str | None
    billingReference: str | None
    dewarAvgCustomsValue: int | None
    dewarAvgTransportValue: int | None
    recordTimeStamp: datetime | None
    person: Person = strawberry.field(name="Person")

    @classmethod
    def of(cls, row: dict[str, Any]) -> Self:
        """A contact from its nested row (``relational.labcontacts``)."""
        person = row["Person"]
        lab = person["Laboratory"]
        nested = Person(**{k: v for k, v in person.items() if k != "Laboratory"}, laboratory=lab and Laboratory(**lab))
        return build(cls, row | {"person": nested})

    @classmethod
    async def resolve_reference(cls, info: Info, labContactId: int) -> Self | None:
        row = await loaders.LABCONTACTS.one(info.context, loaders.reference_id(labContactId, "labContactId"))
        return None if row is None else cls.of(row)
