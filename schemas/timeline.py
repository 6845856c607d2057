"""One session's timeline: its SQL events, logbook entries and processing results in time order, and the cursor
that pages through it.

The order is (time, rank, id), newest first or oldest first: ``time`` in UTC (SQL times are converted), ``rank``
the place of the event's kind in ``KINDS`` (events of several kinds at one instant), ``id`` the event's own id
(a number for SQL rows, a 24-hex string for documents). A cursor is that key of a page's last event, with the
session and the order, signed: a cursor altered, or made for another session or order, is refused (422).
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from schemas.errors import InvalidInput
from schemas.times import as_utc


class Kind(StrEnum):
    dataCollection = "dataCollection"
    robotAction = "robotAction"
    energyScan = "energyScan"
    xrfSpectrum = "xrfSpectrum"
    logbook = "logbook"
    result = "result"


#: every kind, in the order that ranks events at one instant
KINDS = tuple(Kind)
RANK = {kind: rank for rank, kind in enumerate(KINDS)}
#: kinds kept in SQL (their ids are numbers) and in the documents (24-hex ids)
SQL_KINDS = frozenset({Kind.dataCollection, Kind.robotAction, Kind.energyScan, Kind.xrfSpectrum})
_HEX_ID = re.compile(r"^[0-9a-f]{24}$")
Order = Literal["desc", "asc"]


@dataclass(frozen=True)
class Position:
    """A place in a timeline: the event at (``time``, ``rank``, ``id``); pages start after it."""

    time: datetime
    rank: int
    id: int | str


@dataclass(frozen=True)
class Cursor:
    """Where the next page of a session's timeline starts (``time`` aware UTC)."""

    sessionId: int
    order: Order
    at: Position

    def encode(self, secret: str) -> str:
        at = self.at
        payload = [self.sessionId, self.order, at.time.isoformat(), at.rank, at.id]
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{_b64(_signature(secret, body))}"

    @classmethod
    def decode(cls, text: str, secret: str, session_id: int, order: Order) -> "Cursor":
        """The cursor ``text`` stands for; 422 unless it is one we made, for this session and order."""
        body, _, signature = text.partition(".")
        if not hmac.compare_digest(signature.encode(), _b64(_signature(secret, body)).encode()):
            raise InvalidInput("`cursor` is not a cursor of this timeline (take it from the previous page's `next`)")
        try:
            sid, cursor_order, time, rank, id_ = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            cursor = cls(sid, cursor_order, Position(as_utc(datetime.fromisoformat(time)), rank, id_))
        except (ValueError, TypeError, binascii.Error):
            cursor = None
        if cursor is None or not _well_formed(cursor):  # signed by us, yet unreadable: refused all the same
            raise InvalidInput("`cursor` cannot be read")
        if cursor.sessionId != session_id:
            raise InvalidInput(f"`cursor` belongs to another session's timeline, not to session {session_id}'s")
        if cursor.order != order:
            raise InvalidInput(f"`cursor` pages the timeline in `{cursor.order}` order, not `{order}`")
        return cursor


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _signature(secret: str, body: str) -> bytes:
    key = hashlib.sha256(b"timeline-cursor\x00" + secret.encode()).digest()
    return hmac.new(key, body.encode(), hashlib.sha256).digest()[:18]


def _well_formed(cursor: Cursor) -> bool:
    at = cursor.at
    if type(at.rank) is not int or not 0 <= at.rank < len(KINDS) or type(cursor.sessionId) is not int:
        return False
    if KINDS[at.rank] in SQL_KINDS:
        return type(at.id) is int
    return isinstance(at.id, str) and _HEX_ID.match(at.id) is not None


class TimelineEvent(BaseModel):
    type: Kind
    time: datetime = Field(description="When it happened, in UTC (SQL's facility-local times converted)")
    id: int | str = Field(description="The event's id in its own route: a number for SQL rows, 24 hex otherwise")
    summary: str = Field(description="One short line saying what happened")
    item: dict[str, Any] = Field(
        description="The event as its own route shows it (GET /events' Item; a logbook entry's latest version; a "
        "result without its data, parameters and attachments)"
    )


class DocumentsState(BaseModel):
    available: bool = Field(description="False: the document store did not answer; only SQL events are listed")


class Timeline(BaseModel):
    sessionId: int
    order: Order
    results: list[TimelineEvent]
    next: str | None = Field(description="The cursor of the next page; null on the last one")
    documents: DocumentsState
