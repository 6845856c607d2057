"""Who sees which documents: the one place where a caller's reach becomes a Mongo filter.

Documents carry the owning ``proposalId`` and their session (``sessionId`` on metrics, rollups and logbook entries,
``sessionIds`` on results). A caller sees the documents of the proposals they reach as a whole, and of the sessions
they reach one by one, exactly as SQL scopes sessions (``relational/scope.py``); ``None`` means everything
(all_proposals). Beamline-wide logbook entries (no session, no proposal) are seen by that beamline's staff.
"""

from collections.abc import Collection, Sequence
from typing import Any

#: the session fields of the collections: one filter shape serves every collection (and ad-hoc sub-pipelines)
SESSION_FIELDS = ("sessionId", "sessionIds")
#: a filter no document matches
NOTHING: dict[str, Any] = {"_id": {"$in": []}}


def within(proposals: Sequence[int] | None, sessions: Sequence[int] = ()) -> dict[str, Any]:
    """The filter of what a caller sees: their whole ``proposals`` and single ``sessions`` (None: no filter)."""
    if proposals is None:
        return {}
    reached: list[dict[str, Any]] = [{"proposalId": {"$in": list(proposals)}}]
    reached += [{field: {"$in": list(sessions)}} for field in SESSION_FIELDS if sessions]
    return reached[0] if len(reached) == 1 else {"$or": reached}


def one_session(
    proposals: Collection[int] | None, sessions: Collection[int], proposal_id: int, session_id: int, field: str
) -> dict[str, Any]:
    """The FLAT filter of one session's documents (``field``: the collection's session field) for a caller who
    reaches ``proposals`` whole and ``sessions`` one by one (None: everything): its proposal and itself if reached,
    else ``NOTHING``. A store plans an equality on indexed fields with an index, where ``within``'s ``$or`` makes
    SecantusDB scan the collection."""
    if proposals is not None and proposal_id not in proposals and session_id not in sessions:
        return NOTHING
    return {"proposalId": proposal_id, field: session_id}


def both(scope: dict[str, Any], narrower: dict[str, Any]) -> dict[str, Any]:
    """``narrower`` (a filter the caller asked for) kept within ``scope``."""
    if not scope:
        return narrower
    return {"$and": [scope, narrower]} if narrower else scope


def given(scope: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """``scope`` narrowed by equality on each of ``fields`` that is given (``None``: not asked for)."""
    return both(scope, {name: value for name, value in fields.items() if value is not None})


def of_proposal(scope: dict[str, Any], proposal_id: int | None) -> dict[str, Any]:
    """``scope`` narrowed to one proposal if one is given (still only the sessions of it the caller reaches)."""
    return scope if proposal_id is None else both(scope, {"proposalId": proposal_id})


def logbook(seen: dict[str, Any], beamlines: Collection[str]) -> dict[str, Any]:
    """The filter of the logbook entries a caller sees: those of the sessions in ``seen`` (their ``within``
    filter), and the beamline-wide ones (no session) of the ``beamlines`` they are staff of."""
    if not seen:
        return {}
    if not beamlines:
        return seen
    return {"$or": [seen, {"sessionId": None, "beamLineName": {"$in": sorted(beamlines)}}]}
