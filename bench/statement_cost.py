#!/usr/bin/env python3
"""What SQLAlchemy's execution costs a read, against ``relational.core_reads``: the CPU of one read of the hot
routes (the person of ``/user/current``, one collection, a page of proposals as a member and as staff) in this
process, through a read session as the service makes them, each read's statements first straight on the driver,
then with a no-op statement listener on the engine, which sends every statement through SQLAlchemy's execution.
Rounds interleaved; prints the median CPU per read of each way and the wall time per read (MariaDB's share
included). Prints figures; asserts nothing.

    .venv/bin/python bench/statement_cost.py --db bench_ispyb_…   # else builds the reference volume and drops it
"""

import argparse
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import reference_database  # noqa: E402
from relational import datacollections, people, proposals  # noqa: E402
from relational.common import Page  # noqa: E402
from relational.db import Database  # noqa: E402
from relational.read_sessions import ReadSession  # noqa: E402
from relational.scope import Scope  # noqa: E402

#: the reference volume's caller (``abcd``, person 1) and its collection
PERSON, COLLECTION = 1, 10001


def reads(database: Database) -> dict[str, Callable[[ReadSession], Awaitable[Any]]]:
    assert database.schema is not None
    schema, member, staff = database.schema, Scope(PERSON), Scope(PERSON, all_proposals=True)
    return {
        "the person (/user/current)": lambda db: people.names(db, PERSON),
        "one collection": lambda db: datacollections.get_datacollection(db, member, schema, COLLECTION),
        "proposals, a member": lambda db: proposals.get_proposals(db, member, Page()),
        "proposals, staff": lambda db: proposals.get_proposals(db, staff, Page()),
    }


def _noop(*_: Any) -> None:
    """A statement listener that does nothing: its presence alone sends statements through SQLAlchemy."""


async def measure(url: str, rounds: int, calls: int) -> None:
    database = Database(url)
    await database.start()
    engine = database.read_engine.sync_engine
    figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
    try:
        for _ in range(rounds):
            for name, read in reads(database).items():
                for way in ("core_reads", "SQLAlchemy"):
                    listening = way == "SQLAlchemy"
                    if listening:
                        event.listen(engine, "before_cursor_execute", _noop)
                    try:
                        async with database.read_sessions() as db:
                            for _ in range(20):  # warm: statements built, prepared, descriptions parsed
                                await read(db)
                            cpu, wall = time.process_time(), time.perf_counter()
                            for _ in range(calls):
                                await read(db)
                            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                    finally:
                        if listening:
                            event.remove(engine, "before_cursor_execute", _noop)
                    figures.setdefault((name, way), []).append((cpu / calls * 1e6, wall / calls * 1e6))
    finally:
        await database.dispose()
    print(f"{rounds} rounds of {calls} reads each way; medians, microseconds per read\n")
    print("| read | CPU, core_reads | CPU, SQLAlchemy | saved | wall, core_reads | wall, SQLAlchemy |")
    print("|---|---|---|---|---|---|")
    for name in dict.fromkeys(n for n, _ in figures):
        direct, through = figures[name, "core_reads"], figures[name, "SQLAlchemy"]
        d_cpu, t_cpu = statistics.median(c for c, _ in direct), statistics.median(c for c, _ in through)
        d_wall, t_wall = statistics.median(w for _, w in direct), statistics.median(w for _, w in through)
        print(f"| {name} | {d_cpu:.0f} | {t_cpu:.0f} | {t_cpu - d_cpu:.0f} | {d_wall:.0f} | {t_wall:.0f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", help="a reference-volume database already built (else one is built and dropped)")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--calls", type=int, default=500)
    a = p.parse_args()
    with reference_database(built=a.db) as db:
        uvloop.run(measure(f"mysql+aiomysql://root@127.0.0.1/{db}", a.rounds, a.calls))


if __name__ == "__main__":
    main()
