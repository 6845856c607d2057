"""LabContact, with its Person and the person's Laboratory (as REST nests them)."""

from app.graphql import loaders
from app.graphql.types import rest_type
from schemas import samples


@rest_type(samples.LabContactLaboratory, description="A person's laboratory")
class Laboratory:
    pass


@rest_type(samples.LabContactPerson, description="A lab contact's person")
class Person:
    pass


@rest_type(
    samples.LabContact,
    key="labContactId",
    loader=loaders.LABCONTACTS,
    description="Who sends or receives a proposal's shipments",
)
class LabContact:
    pass
