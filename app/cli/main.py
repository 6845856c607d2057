"""``ispyb-hybrid``: serve, seed the demo data, tokens, schema check, shipment import, SQL metrics sync, rollup
check and ad-hoc queries; the user-office sync (``app/cli/userportal.py``) and the fault copy
(``app/cli/faults.py``) have modules of their own."""

import asyncio
import json
import os
import signal
import sys
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from uvicorn.config import STARTUP_FAILURE

from app.auth import tokens
from app.cli import demo_files, faults, userportal
from app.cli.embedded import DocumentServer, EmbeddedServerError
from app.cli.workers import run_workers
from app.deps import scope_for
from app.json_guard import too_deep
from app.services import query as query_service
from app.services.shipment_import import import_sheet
from app.settings import Settings, get_settings
from app.state import open_database
from documents import demo as demo_documents
from documents import metrics, rollups
from documents.store import DocumentStore
from relational import demo, people, sql_metrics
from relational.schema_check import check
from schemas.errors import DomainError, ImportRejected
from schemas.shipment_import import ImportReport
from schemas.times import utc_now

cli = typer.Typer(
    help="The shared ISPyB back end (MariaDB/SQLite + MongoDB behind one FastAPI service).", no_args_is_help=True
)
console = Console()
DATA_DIR = Path(".ispyb-data")


async def _seed(settings: Settings) -> bool:
    """The demo data set: SQL rows, then their metrics in the document store (EM, SAXS; MX from SQL)."""
    database = open_database(settings)
    store = DocumentStore(settings.mongo_url, settings.mongo_db, settings.mongo_timeout_ms)
    try:
        schema = await database.start()
        async with database.sessions() as db:
            if await demo.is_seeded(db):
                return False
            await demo.seed(db)
            await db.commit()
            collections = await demo.collections_by_technique(db)
        await demo_files.seed(database, settings)
        docs = await store.ready()
        await demo_documents.seed(docs, collections)
        async with database.engine.connect() as conn:
            async for batch in sql_metrics.scaling(conn, schema):
                dated = [d | {"createdAt": utc_now()} for d in batch]
                await metrics.insert(docs, dated)
                await rollups.add(docs, dated)
        return True
    finally:
        await store.close()
        await database.dispose()


async def _token(settings: Settings, login: str) -> str:
    database = open_database(settings)
    try:
        async with database.read_sessions() as db:
            person = await people.person_by_login(db, login)
    finally:
        await database.dispose()
    if person is None or person.login is None:  # found by its login, so never NULL
        raise typer.BadParameter(f"no Person with login `{login}`")
    return tokens.issue(settings.jwt_secret, person.login, person.personId, settings.jwt_lifetime_minutes)


@cli.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    socket_per_worker: Annotated[
        bool, typer.Option(help="each worker listens on a socket of its own (SO_REUSEPORT); see the README")
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level")] = "info",
    access_log: Annotated[bool, typer.Option(help="one log line per request")] = True,
) -> None:
    """Run the service. Without ISPYB_SQL_URL: the embedded default (SQLite file, a SecantusDB process,
    demo data seeded, demo tokens printed). SIGTERM or SIGINT: requests in flight finish, then the embedded
    document server is stopped. Settings that do not validate: exit 3, before any worker starts."""
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_on_signal)
    with ExitStack() as embedded:
        if "ISPYB_SQL_URL" not in os.environ:
            _start_embedded(embedded, host, port)
        try:
            get_settings()
        except ValidationError as exc:
            console.print(f"[red]Settings refused:[/red] {exc}", soft_wrap=True)
            raise typer.Exit(STARTUP_FAILURE) from None
        if workers > 1:
            # a worker starts in ~4 s idle, more under load: uvicorn's 5 s would abort SIGHUP's replacements
            config = uvicorn.Config(
                "app.main:app", host, port, workers=workers, log_level=log_level, access_log=access_log,
                timeout_worker_healthcheck=30,
            )  # fmt: skip
            run_workers(config, socket_per_worker)
        else:
            uvicorn.run("app.main:app", host=host, port=port, log_level=log_level, access_log=access_log)


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    """Unwind (so the embedded document server is stopped) when uvicorn re-raises the signal it shut down on,
    or when it arrives before uvicorn runs; the exit status is the shell's 128 + signal."""
    raise SystemExit(128 + signum)


def _start_embedded(stack: ExitStack, host: str, port: int) -> None:
    DATA_DIR.mkdir(exist_ok=True)
    os.environ.setdefault("ISPYB_MODE", "embedded")
    os.environ.setdefault("ISPYB_AUTH_PLUGINS", "dummy")
    os.environ["ISPYB_SQL_URL"] = f"sqlite+aiosqlite:///{DATA_DIR / 'ispyb.sqlite'}"
    if "ISPYB_MONGO_URL" not in os.environ:
        console.print("Starting the embedded document server (SecantusDB)…")
        try:
            server = stack.enter_context(DocumentServer(str(DATA_DIR / "documents"), log=DATA_DIR / "secantusd.log"))
        except EmbeddedServerError as exc:
            console.print(f"[red]{exc}[/red]", soft_wrap=True)
            raise typer.Exit(1) from None
        console.print(f"Embedded document server: pid {server.pid}, {server.url}")
        os.environ["ISPYB_MONGO_URL"] = server.url
    get_settings.cache_clear()
    settings = get_settings()
    if asyncio.run(_seed(settings)):
        console.print("Demo data seeded.")
    _print_demo_tokens(settings, f"http://{host}:{port}")


def _print_demo_tokens(settings: Settings, base: str) -> None:
    console.print("Demo users; send `Authorization: Bearer <token>`:", style="bold")
    for login, who in demo.DEMO_LOGINS.items():
        print(f"  {login} ({who}): {asyncio.run(_token(settings, login))}")
    console.print(
        f"Service: {base}/ispyb/api/v1  API docs: {base}/docs  health: {base}/ispyb/api/v1/health", soft_wrap=True
    )


@cli.command("seed-demo")
def seed_demo() -> None:
    """Add the demo data set to ISPYB_SQL_URL (once; refuses a database that has proposals)."""
    if asyncio.run(_seed(get_settings())):
        console.print("Demo data seeded.")
    else:
        console.print("The database already holds proposals: nothing seeded.")
        raise typer.Exit(1)


@cli.command()
def token(login: str) -> None:
    """Print a bearer token for LOGIN (an existing Person.login)."""
    print(asyncio.run(_token(get_settings(), login)))


@cli.command("check-schema")
def check_schema() -> None:
    """Compare every mapped table and column with the database at ISPYB_SQL_URL; exit 1 on any mismatch."""

    async def run() -> tuple[list[str], list[str], str]:
        database = open_database(get_settings())
        try:
            async with database.engine.connect() as conn:
                problems = [str(p) for p in await conn.run_sync(check)]
            schema = await database.start() if not problems else None
        finally:
            await database.dispose()
        return problems, schema.degraded if schema else [], schema.flavour if schema else "?"

    problems, degraded, flavour = asyncio.run(run())
    for problem in problems:
        console.print(f"[red]MISMATCH[/red] {problem}")
    for field in degraded:
        console.print(f"[yellow]degraded[/yellow] {field} (absent in this flavour: served as null/empty)")
    console.print(f"{len(problems)} mismatch(es); flavour: {flavour}")
    if problems:
        raise typer.Exit(1)


async def _import(content: bytes, filename: str, proposal: str, login: str, **options: object) -> ImportReport:
    settings = get_settings()
    database = open_database(settings)
    try:
        schema = await database.start()
        async with database.write_sessions() as db:
            person = await people.person_by_login(db, login)
            if person is None:
                raise typer.BadParameter(f"no Person with login `{login}`")
            scope = scope_for(settings, person.personId, await people.permissions_of(db, person.personId))
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console) as bar:
                task = bar.add_task("reading", total=None)

                def progress(phase: str, done: int, total: int) -> None:
                    bar.update(task, description=phase, completed=done, total=total or None)

                report = await import_sheet(
                    db,
                    scope,
                    schema,
                    settings,
                    content=content,
                    filename=filename,
                    proposal=proposal,
                    person_id=person.personId,
                    progress=progress,
                    **options,  # type: ignore[arg-type]
                )
            await db.commit()
            return report
    finally:
        await database.dispose()


@cli.command("import-shipment")
def import_shipment(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX, one row per sample")],
    proposal: Annotated[str, typer.Option(help="e.g. MX1")],
    login: Annotated[str, typer.Option(help="Who imports: their reach applies")],
    profile: Annotated[str, typer.Option(help="Column profile")] = "default",
    shipping_name: Annotated[str | None, typer.Option(help="Name of the new shipment")] = None,
    shipping_id: Annotated[int | None, typer.Option(help="Add to this shipment instead")] = None,
    dry_run: Annotated[bool, typer.Option(help="Validate and report, write nothing")] = False,
) -> None:
    """Import a shipment spreadsheet into ISPYB_SQL_URL: all rows or none, every problem listed."""
    options = {"profile": profile, "shipping_name": shipping_name, "shipping_id": shipping_id, "dry_run": dry_run}
    try:
        report = asyncio.run(_import(file.read_bytes(), file.name, proposal, login, **options))
    except ImportRejected as exc:
        table = Table("row", "column", "value", "problem", title=exc.detail)
        for e in exc.extra["errors"]:
            table.add_row(str(e["row"]), e["column"] or "", "" if e["value"] is None else str(e["value"]), e["message"])
        console.print(table)
        raise typer.Exit(1) from None
    except DomainError as exc:
        console.print(f"[red]{exc.title}[/red]: {exc.detail}")
        raise typer.Exit(1) from None
    console.print_json(report.model_dump_json())


async def _sync_sql_metrics() -> dict[str, int]:
    settings = get_settings()
    database = open_database(settings)
    store = DocumentStore(settings.mongo_url, settings.mongo_db, settings.mongo_timeout_ms)
    counts = {"read": 0, "added": 0, "already there": 0, "refused": 0}
    try:
        schema = await database.start()
        docs = await store.ready()
        columns = (TextColumn("{task.description}"), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("copying SQL metrics", total=None)
            async with database.engine.connect() as conn:
                for source in (sql_metrics.scaling(conn, schema), sql_metrics.electron_microscopy(conn)):
                    async for batch in source:
                        dated = [d | {"createdAt": utc_now()} for d in batch]
                        stored, duplicates, refused = await metrics.insert(docs, dated)
                        await rollups.add(docs, [d for i, d in enumerate(dated) if i not in duplicates | set(refused)])
                        counts["read"] += len(batch)
                        counts["added"] += stored
                        counts["already there"] += len(duplicates)
                        counts["refused"] += len(refused)
                        bar.update(task, completed=counts["read"], description=f"copying {batch[0]['kind']}")
    finally:
        await store.close()
        await database.dispose()
    return counts


@cli.command("sync-sql-metrics")
def sync_sql_metrics() -> None:
    """Copy the metrics pipelines wrote to SQL (AutoProcScalingStatistics; MotionCorrection, CTF and
    ParticlePicker where the flavour has them) into metric documents; re-running adds nothing."""
    try:
        counts = asyncio.run(_sync_sql_metrics())
    except DomainError as exc:
        console.print(f"[red]{exc.title}[/red]: {exc.detail}")
        raise typer.Exit(1) from None
    console.print_json(data=counts)


async def _check_rollups(repair: bool) -> list[str]:
    settings = get_settings()
    # a scan of every metric: the long time limit, so that a busy server is not taken for a lost one
    store = DocumentStore(
        settings.mongo_url, settings.mongo_db, settings.mongo_timeout_ms, settings.mongo_long_timeout_ms
    )
    try:
        docs = await store.ready()
        problems = await rollups.drift(docs)
        if problems and repair:
            await rollups.rebuild(docs)
        return problems
    finally:
        await store.close()


@cli.command("check-rollups")
def check_rollups(
    repair: Annotated[
        bool,
        typer.Option(help="Rebuild the rollups from the raw metrics when they differ (while no metrics are uploaded)"),
    ] = False,
) -> None:
    """Recompute the metric rollups from the raw metrics and compare; exit 1 on any difference."""
    problems = asyncio.run(_check_rollups(repair))
    for problem in problems[:50]:
        console.print(f"[red]DRIFT[/red] {problem}")
    console.print(f"{len(problems)} difference(s)" + (" (rebuilt)" if problems and repair else ""))
    if problems and not repair:
        raise typer.Exit(1)


async def _query(spec: dict[str, object], login: str, output: str) -> None:
    settings = get_settings()
    database = open_database(settings)
    store = DocumentStore(settings.mongo_url, settings.mongo_db, settings.mongo_timeout_ms)
    try:
        async with database.read_sessions() as db:
            person = await people.person_by_login(db, login)
            if person is None:
                raise typer.BadParameter(f"no Person with login `{login}`")
            scope = scope_for(settings, person.personId, await people.permissions_of(db, person.personId))
            model = query_service.AggregateQuery if "pipeline" in spec else query_service.FindQuery
            documents = await query_service.run(model.model_validate(spec), db, scope, store, settings)
            async for chunk in query_service.encode(documents, query_service.Output(output)):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.write(b"\n")
    finally:
        await store.close()
        await database.dispose()


@cli.command("query")
def query(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="{collection, filter…} or {collection, pipeline}")
    ],
    login: Annotated[str, typer.Option(help="Whose scope applies")],
    output: Annotated[str, typer.Option("--format", help="json, ndjson or csv")] = "json",
) -> None:
    """Run an ad-hoc query on the document collections with the same rules as POST /query/*."""
    try:
        raw, limit = file.read_bytes(), get_settings().json_max_depth
        if too_deep(raw, limit):  # refused before json.loads recurses, as for request bodies
            raise ValueError(f"the file nests deeper than {limit} levels")
        asyncio.run(_query(json.loads(raw), login, output))
    except (DomainError, ValidationError, ValueError) as exc:
        console.print(f"[red]refused[/red]: {getattr(exc, 'detail', exc)}")
        raise typer.Exit(1) from None


cli.command("sync-proposals")(userportal.sync_proposals)
cli.command("sync-faults")(faults.sync_faults)
