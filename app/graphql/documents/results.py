"""Result: REST's result shape (``schemas/results.py``), with the versions of its series."""

from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry.scalars import JSON

from app.graphql.documents import loaders
from schemas.results import Status

strawberry.enum(Status, name="ResultStatus")  # the REST enum, as a GraphQL enum


@strawberry.type
class Program:
    name: str
    version: str | None


@strawberry.type
class Sweep:
    dataCollectionId: int
    imageStart: int | None
    imageEnd: int | None


@strawberry.type
class Attachment:
    path: str
    type: str | None


@strawberry.type
class Author:
    personId: int
    login: str


@strawberry.type(description="A result of any shape over one or more data collections (one version of a series)")
class Result:
    resultId: strawberry.ID
    kind: str
    program: Program
    status: Status
    automatic: bool
    dataCollectionIds: list[int]
    sweeps: list[Sweep]
    parameters: JSON
    data: JSON
    attachments: list[Attachment]
    proposalId: int
    sessionIds: list[int]
    series: str = strawberry.field(description="Results of one kind and program over the same collections")
    version: int
    latest: bool
    runId: str | None
    createdBy: Author
    createdAt: datetime
    updatedAt: datetime

    @strawberry.field(description="Every version of this result's series, oldest first")
    async def versions(self, info: strawberry.Info) -> list["Result"] | None:
        return [Result.of(doc) for doc in await loaders.versions(info, self.series)]

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Self:
        """A stored result as ``documents.results.out`` shows it."""
        return cls(
            resultId=strawberry.ID(doc["resultId"]),
            kind=doc["kind"],
            program=Program(name=doc["program"]["name"], version=doc["program"].get("version")),
            status=Status(doc["status"]),
            automatic=doc["automatic"],
            dataCollectionIds=doc["dataCollectionIds"],
            sweeps=[
                Sweep(**{k: s.get(k) for k in ("dataCollectionId", "imageStart", "imageEnd")}) for s in doc["sweeps"]
            ],
            parameters=doc["parameters"],
            data=doc["data"],
            attachments=[Attachment(path=a["path"], type=a.get("type")) for a in doc["attachments"]],
            proposalId=doc["proposalId"],
            sessionIds=doc["sessionIds"],
            series=doc["series"],
            version=doc["version"],
            latest=doc["latest"],
            runId=doc.get("runId"),
            createdBy=Author(personId=doc["createdBy"]["personId"], login=doc["createdBy"]["login"]),
            createdAt=doc["createdAt"],
            updatedAt=doc["updatedAt"],
        )
