"""``ispyb-hybrid sync-faults``: the fault tables (``BF_fault`` and friends) copied into logbook entries.

Each fault becomes an entry of kind ``fault`` of its session (``source`` names the row), written by the service
``sync-faults``. A re-run adds nothing; a fault whose row changed since gets a new version (built on the entry's
latest version, so a correction made in the logbook to other fields stays).
"""

import asyncio
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.settings import get_settings
from app.state import open_database
from documents import logbook
from documents.store import DocumentStore
from relational import faults
from schemas.errors import DomainError
from schemas.times import EPOCH, from_sql

SERVICE = "sync-faults"
#: the fields a copy takes from its row: a difference in any of them makes a new version
COPIED = ("kind", "beamLineName", "proposalId", "sessionId", "time", "text", "tags")
console = Console()


def _text(row: dict[str, Any], max_bytes: int) -> str:
    """The entry's Markdown: title, description, who holds it, and the resolution; cut to ``max_bytes``."""
    parts = [f"**{row['title'] or 'Fault ' + str(row['faultId'])}**"]
    parts += [row["description"]] if row["description"] else []
    people = [f"{label}: {row[name]}" for name, label in (("owner", "Owner"), ("assignee", "Assignee")) if row[name]]
    parts += [" · ".join(people)] if people else []
    parts += [f"**Resolution:** {row['resolution']}"] if row["resolution"] else []
    text = "\n\n".join(parts)
    if len(text.encode()) > max_bytes:
        text = text.encode()[: max_bytes - 3].decode(errors="ignore") + "…"
    return text


def entry_of(row: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """The logbook entry (version 1's fields) copied from a fault row read by ``relational.faults``."""
    moment = row["starttime"] or row["endtime"] or row["sessionStart"]
    tags = ["resolved" if row["resolved"] else "unresolved"] + (["beamtime lost"] if row["beamtimelost"] else [])
    return {
        "kind": "fault",
        "beamLineName": row["beamLineName"],
        "proposalId": row["proposalId"],
        "sessionId": row["sessionId"],
        "dataCollectionId": None,
        "blSampleId": None,
        "resultId": None,
        "author": {"service": SERVICE},
        "time": logbook.to_ms(from_sql(moment)) if moment else EPOCH,
        "text": _text(row, max_bytes),
        "tags": tags,
        "attachments": [],
        "source": {"table": faults.TABLE, "id": row["faultId"]},
    }


async def _sync(batch: int) -> dict[str, int] | None:
    """Counts of what was read, added, updated, unchanged, and skipped (an entry another writer was correcting:
    the next run copies the change); None when the database has no fault table."""
    settings = get_settings()
    database = open_database(settings)
    store = DocumentStore(settings.mongo_url, settings.mongo_db, settings.mongo_timeout_ms)
    counts = {"read": 0, "added": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    try:
        schema = await database.start()
        if not schema.has_table(faults.TABLE):
            return None
        docs = await store.ready()
        columns = (TextColumn("copying faults"), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("faults", total=None)
            async with database.read_sessions() as db:
                async for rows in faults.batches(db, batch):
                    copies = await logbook.copied(docs, faults.TABLE, [r["faultId"] for r in rows], SERVICE)
                    for row in rows:
                        entry = entry_of(row, settings.logbook_max_bytes)
                        if (copy := copies.get(row["faultId"])) is None:
                            added = await logbook.insert_first(docs, entry)
                            counts["added" if added else "unchanged"] += 1
                        elif any(copy.get(name) != entry[name] for name in COPIED):
                            changes = {name: entry[name] for name in COPIED}
                            author = entry["author"]
                            added = await logbook.add_version(docs, copy["entryId"], changes, author, retry=False)
                            counts["updated" if added else "skipped"] += 1
                        else:
                            counts["unchanged"] += 1
                    counts["read"] += len(rows)
                    bar.update(task, completed=counts["read"])
    finally:
        await store.close()
        await database.dispose()
    return counts


def sync_faults(
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="Fault rows read per query")] = 1000,
) -> None:
    """Copy faults into logbook entries of kind ``fault``, idempotently: a re-run adds nothing, a fault changed
    since its copy gets a new version."""
    try:
        counts = asyncio.run(_sync(batch))
    except DomainError as exc:
        console.print(f"[red]{exc.title}[/red]: {exc.detail}")
        raise typer.Exit(1) from None
    if counts is None:
        console.print(f"This database has no {faults.TABLE} table: there are no faults to copy.")
        return
    console.print_json(data=counts)
