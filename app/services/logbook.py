"""The beamline logbook: who sees and writes which entries (read from SQL), the entries themselves (documents).

Reading: an entry of a session is seen by who sees the session; a beamline-wide entry (no session) by that
beamline's staff and by holders of all_proposals. Writing: who sees a session may add notes to it; other kinds,
and beamline-wide entries, need staff of that beamline, all_proposals, or the acquisition or processing-write
permission (beamline control and pipelines, which write into any session as they do in SQL and in results).
A correction is a new version, by the entry's author or by staff of its beamline.
"""

from dataclasses import replace
from typing import Any

from app.deps import Identity, document_scope
from app.settings import Settings
from documents import api_keys, logbook, results, scope
from documents.store import DocumentStore
from relational import logbook as places
from relational.logbook import Place
from relational.reach import proposal_id_by_name, sessions_among
from relational.read_sessions import ReadSession
from schemas.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge
from schemas.logbook import BUILTIN_KINDS, NOTE, EntryContent, EntryCorrection, EntryCreate, EntryFilters
from schemas.times import from_sql, utc_now

Doc = dict[str, Any]
LINKS = ("dataCollectionId", "blSampleId", "resultId")


def kinds(settings: Settings) -> list[str]:
    """The built-in kinds, then the facility's own (settings.logbook_kinds)."""
    return list(dict.fromkeys([*BUILTIN_KINDS, *settings.logbook_kinds]))


def _invalid(field: str, value: Any, message: str) -> InvalidInput:
    error = {"loc": ["body", field], "msg": message, "type": "value_error", "input": value}
    return InvalidInput(f"`{field}` {message}", errors=[error])


def _check_content(content: EntryContent, settings: Settings) -> None:
    if content.kind is not None and content.kind not in kinds(settings):
        raise _invalid("kind", content.kind, f"must be one of {', '.join(kinds(settings))}")
    if content.text is not None and len(content.text.encode()) > settings.logbook_max_bytes:
        raise PayloadTooLarge(f"`text` is over the {settings.logbook_max_bytes}-byte limit (UTF-8)")


def _machine_writer(identity: Identity, settings: Settings) -> bool:
    """Whether the caller writes into any session (beamline control, pipelines)."""
    return bool({settings.acquisition_permission, settings.processing_write_permission} & set(identity.permissions))


def _beamline_writer(identity: Identity, settings: Settings, beamline: str | None) -> bool:
    """Whether the caller may write any kind of entry on ``beamline`` (beamline-wide or into its sessions)."""
    s = identity.scope
    return s.all_proposals or beamline in s.beamlines or _machine_writer(identity, settings)


def _author(identity: Identity, key_name: str | None) -> Doc:
    return {"service": key_name} if key_name else {"personId": identity.personId, "login": identity.login}


async def _key_name(store: DocumentStore, identity: Identity) -> str | None:
    if identity.apiKeyId is None:
        return None
    key = await api_keys.find(await store.ready(), identity.apiKeyId)
    return None if key is None else str(key["name"])


async def visible(db: ReadSession, identity: Identity) -> Doc:
    """The filter of the entries the caller sees (``documents.scope.logbook``)."""
    return scope.logbook(await document_scope(db, identity.scope), identity.scope.beamlines)


async def _check_links(db: ReadSession, store: DocumentStore, content: EntryContent, place: Place | None) -> None:
    """422 naming the field unless each linked object given belongs to the entry's session (its proposal for a
    sample); a beamline-wide entry links none."""
    given = {name: getattr(content, name) for name in LINKS if getattr(content, name) is not None}
    if place is None:
        for name, value in given.items():
            raise _invalid(name, value, "needs an entry of a session (`sessionId`)")
        return
    if (dc := given.get("dataCollectionId")) and not await places.collection_in_session(db, dc, place.sessionId):
        raise _invalid("dataCollectionId", dc, f"is not a data collection of session {place.sessionId}")
    if (sample := given.get("blSampleId")) and not await places.sample_of_proposal(db, sample, place.proposalId):
        raise _invalid("blSampleId", sample, f"is not a sample of proposal {place.proposalId}, whose session this is")
    if result := given.get("resultId"):
        if await results.get(await store.ready(), result, {"sessionIds": place.sessionId}) is None:
            raise _invalid("resultId", result, f"is not a result of session {place.sessionId}")


async def _place(db: ReadSession, identity: Identity, settings: Settings, session_id: int) -> Place:
    """The session an entry goes into, if the caller sees it or writes into any session; 404 otherwise."""
    place = await places.session_place(db, session_id)
    if place is None or not (
        _machine_writer(identity, settings) or await sessions_among(db, identity.scope, [session_id])
    ):
        raise NotFound(f"Session {session_id} not found")
    return place


async def create(
    db: ReadSession, store: DocumentStore, identity: Identity, settings: Settings, data: EntryCreate
) -> Doc:
    """Check a new entry against the caller's rights and SQL, then store its version 1."""
    _check_content(data, settings)
    place = None
    if data.sessionId is not None:
        place = await _place(db, identity, settings, data.sessionId)
        if data.beamLineName is not None and data.beamLineName != place.beamLineName:
            message = f"is not {place.beamLineName!r}, the beamline of session {place.sessionId}"
            raise _invalid("beamLineName", data.beamLineName, message)
        beamline = place.beamLineName
    else:
        beamline = data.beamLineName
        known = beamline in {b.beamLineName for g in settings.beamline_groups for b in g.beamLines}
        if not (known or (beamline and await places.has_sessions_on(db, beamline))):
            raise _invalid("beamLineName", beamline, "is not a beamline of this facility (no session, no group)")
    if (data.kind != NOTE or place is None) and not _beamline_writer(identity, settings, beamline):
        where = f"into session {place.sessionId}" if place else f"beamline-wide on {beamline}"
        raise Forbidden(f"Only staff of beamline {beamline} write {data.kind} entries {where}")
    await _check_links(db, store, data, place)
    entry = data.model_dump(mode="python", exclude={"time"}) | {
        "beamLineName": beamline,
        "proposalId": place.proposalId if place else None,
        "time": logbook.to_ms(data.time or utc_now()),
        "author": _author(identity, await _key_name(store, identity)),
    }
    created = await logbook.insert_first(await store.ready(), entry)
    assert created is not None  # only copies of SQL rows can meet an earlier copy
    return created


async def history(db: ReadSession, store: DocumentStore, identity: Identity, entry_id: str) -> Doc:
    """The latest version of an entry the caller sees, with every version; 404 otherwise."""
    found = await logbook.versions(await store.ready(), await visible(db, identity), entry_id)
    if not found:
        raise NotFound(f"Logbook entry {entry_id} not found")
    return found[-1] | {"versions": found}


async def correct(
    db: ReadSession,
    store: DocumentStore,
    identity: Identity,
    settings: Settings,
    entry_id: str,
    data: EntryCorrection,
) -> Doc:
    """Add the next version of an entry: by its first version's author, or by staff of its beamline."""
    _check_content(data, settings)
    entry = await history(db, store, identity, entry_id)
    beamline = entry["beamLineName"]
    staff = identity.scope.all_proposals or beamline in identity.scope.beamlines
    if not staff and entry["versions"][0]["author"].get("personId") != identity.personId:
        raise Forbidden(f"Only the author of logbook entry {entry_id} or staff of beamline {beamline} correct it")
    if data.kind not in (None, NOTE, entry["kind"]) and not _beamline_writer(identity, settings, beamline):
        raise Forbidden(f"Only staff of beamline {beamline} write {data.kind} entries")
    place = None if entry["sessionId"] is None else Place(entry["sessionId"], entry["proposalId"], beamline)
    await _check_links(db, store, data, place)
    changes = data.model_dump(mode="python", include=data.model_fields_set)
    if data.time is not None:
        changes["time"] = logbook.to_ms(data.time)
    author = _author(identity, await _key_name(store, identity))
    corrected = await logbook.add_version(await store.ready(), entry_id, changes, author)
    assert corrected is not None  # a corrector retries until it has a version
    return corrected


async def find(
    db: ReadSession,
    store: DocumentStore,
    identity: Identity,
    settings: Settings,
    f: EntryFilters,
    proposal: str | None,
    cursor: str | None,
    limit: int,
) -> Doc:
    """A page of the latest versions the caller sees, newest first, and the next page's cursor."""
    if proposal is not None:
        f = replace(f, proposalId=await proposal_id_by_name(db, identity.scope, proposal))
    start = None
    if f.sessionId is not None and cursor is None and (end := await places.session_end(db, f.sessionId)) is not None:
        start = min(from_sql(end), utc_now())  # a finished session's entries lie before its end, mostly
    docs = await store.ready()
    seen = await visible(db, identity)
    max_ms = settings.query_max_time_ms
    rows, after = await logbook.find(docs, seen, f, cursor=cursor, limit=limit, max_ms=max_ms, start=start)
    return {"results": rows, "limit": limit, "next": after}
