"""``ispyb-hybrid sync-proposals``: user-office exports (py-ispyb's sync documents) synced like the API does."""

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.settings import get_settings
from app.state import open_database
from relational.db import Database
from relational.userportalsync import sync_proposal
from schemas.errors import DomainError
from schemas.userportalsync import SyncReport, UserPortalProposalSync

console = Console()


def _documents(paths: list[Path]) -> list[Path]:
    """The files named, and every ``*.json`` under the directories named, in order."""
    found: list[Path] = []
    for path in paths:
        found += sorted(p for p in path.rglob("*.json") if p.is_file()) if path.is_dir() else [path]
    return found


def _problems(exc: ValidationError) -> list[str]:
    """A document's shape errors as ``path: message``, the path as the API's problems write it."""
    shown = []
    for error in exc.errors():
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
        shown.append(f"{path}: {error['msg']}")
    return shown


async def _sync_one(database: Database, path: Path, dry_run: bool) -> tuple[str, SyncReport]:
    """One file in its own unit of work (committed; a dry run's writes are undone inside it): the proposal's name
    and what changed."""
    doc = UserPortalProposalSync.model_validate(json.loads(await asyncio.to_thread(path.read_bytes)))
    assert database.schema is not None
    async with database.write_sessions() as db:
        report = await sync_proposal(db, database.schema, doc, dry_run=dry_run)
        await db.commit()
        return f"{doc.proposal.proposalCode}{doc.proposal.proposalNumber}", report


async def _sync_all(
    files: list[Path], dry_run: bool
) -> tuple[list[tuple[Path, str, SyncReport]], dict[Path, list[str]]]:
    database = open_database(get_settings())
    done: list[tuple[Path, str, SyncReport]] = []
    failed: dict[Path, list[str]] = {}
    try:
        await database.start()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("syncing proposals", total=len(files))
            for path in files:
                try:
                    done.append((path, *await _sync_one(database, path, dry_run)))
                except ValidationError as exc:
                    failed[path] = _problems(exc)
                except DomainError as exc:
                    errors = exc.extra.get("errors", [])
                    failed[path] = [f"{e['path']}: {e['message']}" for e in errors] or [f"{exc.title}: {exc.detail}"]
                except (OSError, ValueError) as exc:  # unreadable, or not JSON
                    failed[path] = [f"not a readable JSON document: {exc}"]
                bar.advance(task)
    finally:
        await database.dispose()
    return done, failed


def _summary(done: list[tuple[Path, str, SyncReport]], failed: dict[Path, list[str]], dry_run: bool) -> Table:
    title = "user-office sync" + (" (dry run: nothing written)" if dry_run else "")
    table = Table("file", "proposal", "changed", "persons", "sessions", "members", "proteins", title=title)
    for path, proposal, r in done:
        counts = [r.persons, r.sessions, r.proteins]
        new, upd = [f"+{c.created} ~{c.updated}" for c in counts], r.sessionMembers
        members = f"+{r.proposalMembers.added + upd.added} -{r.proposalMembers.removed + upd.removed}"
        table.add_row(path.name, proposal, "yes" if r.changed else "no", new[0], new[1], members, new[2])
    for path in failed:
        table.add_row(path.name, "", "[red]refused[/red]", "", "", "", "")
    return table


def sync_proposals(
    files: Annotated[list[Path], typer.Argument(exists=True, help="py-ispyb sync documents, or directories of them")],
    dry_run: Annotated[bool, typer.Option(help="Report what would change, write nothing")] = False,
) -> None:
    """Sync each py-ispyb ``UserPortalProposalSync`` document (a file, or every *.json under a directory) into
    ISPYB_SQL_URL, each file in its own transaction; exit 1 if any was refused, with its problems."""
    documents = _documents(files)
    done, failed = asyncio.run(_sync_all(documents, dry_run))
    console.print(_summary(done, failed, dry_run))
    for path, problems in failed.items():
        console.print(f"[red]{path}[/red]: {len(problems)} problem(s), nothing written")
        for problem in problems:
            console.print(f"  {problem}", markup=False)
    if failed:
        raise typer.Exit(1)
