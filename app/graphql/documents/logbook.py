"""LogbookEntry: one version of a logbook entry, as ``GET /logbook`` shows it (``schemas/logbook.py``), with
every version of the entry."""

from datetime import datetime
from typing import Any, Self

import strawberry

from app.graphql.connection import PageInfo
from app.graphql.documents import loaders


@strawberry.type(description="A person (personId, login) or a service (an API key's name, a command)")
class LogbookAuthor:
    personId: int | None
    login: str | None
    service: str | None


@strawberry.type(description="A file kept elsewhere: a web address, a path on the facility's storage, or both")
class LogbookAttachment:
    name: str
    url: str | None
    path: str | None
    contentType: str | None


@strawberry.type(description="The SQL row an entry was copied from")
class LogbookSource:
    table: str
    id: int


@strawberry.type(description="One version of a logbook entry")
class LogbookEntry:
    entryId: strawberry.ID
    version: int
    latest: bool
    kind: str
    beamLineName: str | None
    proposalId: int | None
    sessionId: int | None
    dataCollectionId: int | None
    blSampleId: int | None
    resultId: str | None
    author: LogbookAuthor
    time: datetime
    createdAt: datetime
    text: str = strawberry.field(description="Markdown")
    tags: list[str]
    attachments: list[LogbookAttachment]
    source: LogbookSource | None

    @strawberry.field(description="Every version of this entry, oldest first")
    async def versions(self, info: strawberry.Info) -> list["LogbookEntry"] | None:
        return [LogbookEntry.of(doc) for doc in await loaders.logbook_versions(info, str(self.entryId))]

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Self:
        """A stored version as ``documents.logbook.out`` shows it."""
        author, source = doc["author"], doc.get("source")
        return cls(
            entryId=strawberry.ID(doc["entryId"]),
            version=doc["version"],
            latest=doc["latest"],
            kind=doc["kind"],
            beamLineName=doc.get("beamLineName"),
            proposalId=doc.get("proposalId"),
            sessionId=doc.get("sessionId"),
            dataCollectionId=doc.get("dataCollectionId"),
            blSampleId=doc.get("blSampleId"),
            resultId=doc.get("resultId"),
            author=LogbookAuthor(
                personId=author.get("personId"), login=author.get("login"), service=author.get("service")
            ),
            time=doc["time"],
            createdAt=doc["createdAt"],
            text=doc["text"],
            tags=doc.get("tags", []),
            attachments=[
                LogbookAttachment(
                    name=a["name"], url=a.get("url"), path=a.get("path"), contentType=a.get("contentType")
                )
                for a in doc.get("attachments", [])
            ],
            source=LogbookSource(table=source["table"], id=source["id"]) if source else None,
        )


@strawberry.type(
    description="A page of a session's logbook, newest first, as REST pages it: the page's cursor is "
    "pageInfo.endCursor (a page may end early once its texts are long)"
)
class LogbookConnection:
    nodes: list[LogbookEntry]
    pageInfo: PageInfo
