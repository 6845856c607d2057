#!/usr/bin/env python3
"""Our service beside py-ispyb (issue 15): one reference-volume database, one uvicorn worker each, the same
routes driven by ../shared/bench/load.py at concurrency 1 and 32, rounds interleaved (ours, py-ispyb, ours, …).

py-ispyb runs from its own checkout in its own venv (bench/pyispyb/setup.sh makes both); ``--pyispyb-python``
names that venv's python. Its dummy login gives the tokens: ``abcd`` (the proposal's person) and ``bench_staff``,
a person this script adds to the bench database with a group holding ``all_proposals`` (staff for both services).
Prints the medians of the rounds as markdown: req/s with the ratio ours / py-ispyb, then p50/p99 latency.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, TOOLS, reference_database, served, sh  # noqa: E402


@dataclass(frozen=True)
class Route:
    """One row of the table: the same question asked of both services, and the field naming each answer's items."""

    slug: str
    title: str
    ours: str
    theirs: str
    ours_key: str
    theirs_key: str
    staff: bool = False


ROUTES = (
    Route(
        "dc",
        "one data collection",
        "/datacollections/10001",
        "/events?dataCollectionId=10001",
        "dataCollectionId",
        "id",
    ),
    Route(
        "session-events", "a session's collections, page 25", "/events?sessionId=11", "/events?sessionId=11", "id", "id"
    ),
    Route(
        "auto-integrations",
        "one collection's auto-integrations",
        "/processings/auto-integrations?dataCollectionId=10001",
        "/processings/auto-integrations?dataCollectionId=10001",
        "autoProcProgramId",
        "autoProcProgramId",
    ),
    Route("proposals", "proposals", "/proposals", "/proposals", "proposalId", "proposalId"),
    Route(
        "proposal-sessions",
        "sessions of a proposal",
        "/sessions?proposal=blc00001",
        "/sessions?proposal=blc00001",
        "sessionId",
        "sessionId",
    ),
    Route("staff-proposals", "staff: proposals", "/proposals", "/proposals", "proposalId", "proposalId", staff=True),
)
SIDES = ("ours", "py-ispyb")
LEVELS = (1, 32)
STAFF = "bench_staff"

# py-ispyb reads its authorization from these tables; so does our service.
STAFF_SQL = f"""
INSERT INTO Permission (type, description) SELECT 'all_proposals', 'All proposals (bench staff)' FROM DUAL
  WHERE NOT EXISTS (SELECT 1 FROM Permission WHERE type = 'all_proposals');
INSERT IGNORE INTO UserGroup (name) VALUES ('{STAFF}');
INSERT INTO Person (login, familyName, givenName) SELECT '{STAFF}', 'Staff', 'Bench' FROM DUAL
  WHERE NOT EXISTS (SELECT 1 FROM Person WHERE login = '{STAFF}');
INSERT IGNORE INTO UserGroup_has_Permission (userGroupId, permissionId) SELECT g.userGroupId, p.permissionId
  FROM UserGroup g JOIN Permission p ON p.type = 'all_proposals' WHERE g.name = '{STAFF}';
INSERT IGNORE INTO UserGroup_has_Person (userGroupId, personId) SELECT g.userGroupId, x.personId
  FROM UserGroup g JOIN Person x ON x.login = '{STAFF}' WHERE g.name = '{STAFF}';
"""

DUMMY_AUTH = """AUTH:
  - dummy:
      ENABLED: true
      AUTH_MODULE: "pyispyb.app.extensions.auth.DummyAuthentication"
      AUTH_CLASS: "DummyAuthentication"
"""


@dataclass(frozen=True)
class Side:
    """A served API: its base URL, a token for ``abcd`` and one for the staff login."""

    name: str
    base: str
    user: str
    staff: str

    def url(self, route: Route) -> str:
        return self.base + (route.ours if self.name == "ours" else route.theirs)

    def token(self, route: Route) -> str:
        return self.staff if route.staff else self.user

    def key(self, route: Route) -> str:
        return route.ours_key if self.name == "ours" else route.theirs_key


def login(base: str, who: str) -> str:
    """A bearer token from the dummy login plugin (both services take any password)."""
    answer = httpx.post(f"{base}/auth/login", json={"plugin": "dummy", "login": who, "password": "bench"})
    answer.raise_for_status()
    token: str = answer.json()["token"]
    return token


@contextmanager
def pyispyb_served(python: str, db: str, port: int, log: Path) -> Iterator[str]:
    """py-ispyb (one uvicorn worker, its own venv) on ``db`` with its dummy login; yields its API base URL."""
    where = "import os, pyispyb; print(os.path.dirname(os.path.dirname(pyispyb.__file__)))"
    checkout = subprocess.run([python, "-c", where], check=True, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="vs_pyispyb_") as tmp:
        auth = Path(tmp) / "auth.yml"
        auth.write_text(DUMMY_AUTH)
        env = {k: v for k, v in os.environ.items() if k != "ISPYB_ENVIRONMENT"}  # config/.env, then these:
        env |= {
            "SQLALCHEMY_DATABASE_URI": f"mysql+mysqlconnector://root@127.0.0.1/{db}",
            "SECRET_KEY": "bench-secret-bench-secret-bench-secret",
            "AUTH_CONFIG": str(auth),  # absolute: it is joined to the checkout
            "PYTHONPATH": str(TOOLS / "nodelay"),
        }
        cmd = [python, "-m", "uvicorn", "pyispyb.app.main:app", "--port", str(port), "--workers", "1"]
        with log.open("w") as out:
            server = subprocess.Popen(
                [*cmd, "--log-level", "warning", "--no-access-log"], env=env, cwd=checkout, stdout=out, stderr=out
            )
        base = f"http://127.0.0.1:{port}/ispyb/api/v1"
        try:
            for _ in range(200):
                if server.poll() is not None:
                    raise RuntimeError(f"py-ispyb exited ({server.returncode}); see {log}")
                try:
                    if httpx.get(f"{base}/auth/config").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
            else:
                raise RuntimeError(f"py-ispyb did not answer on port {port}; see {log}")
            for line in log.read_text().splitlines():
                if "Could not import module" in line:  # it starts without the routers that fail to import
                    print(f"# warning: py-ispyb: {line.split('|')[-1].strip()}; see {log}")
            yield base
        finally:
            server.terminate()
            server.wait(10)


def page(body: Any, key: str) -> tuple[int, list[Any]]:
    """(total, item ids) of a paged answer; one object counts as a page of one."""
    if isinstance(body, dict) and "results" in body:
        return body["total"], [item.get(key) for item in body["results"]]
    return 1, [body.get(key) if isinstance(body, dict) else None]


def check(route: Route, sides: tuple[Side, Side]) -> None:
    """Both answer 200 with the same items (same ids, same total), or a warning line says how they differ."""
    seen = []
    for side in sides:
        answer = httpx.get(side.url(route), headers={"Authorization": f"Bearer {side.token(route)}"}, timeout=60)
        body = answer.json() if answer.headers.get("content-type", "").endswith("json") else None
        total, ids = page(body, side.key(route)) if answer.status_code == 200 else (0, [])
        if answer.status_code != 200 or not ids or None in ids:
            print(f"# warning: {route.title}: {side.name} answered {answer.status_code}: {answer.text[:200]}")
        seen.append((total, ids))
    if seen[0] != seen[1]:
        print(f"# warning: {route.title}: not the same answer: ours {seen[0]}, py-ispyb {seen[1]}")
    else:
        print(f"# check: {route.title}: both 200, total {seen[0][0]}, the same {len(seen[0][1])} items", flush=True)


def drive(side: Side, route: Route, run: int, a: argparse.Namespace, jsonl: Path) -> None:
    """One round of load.py on one route of one side, at both concurrencies, appended to ``jsonl``."""
    auth = f"Authorization: Bearer {side.token(route)}"
    levels = ",".join(map(str, LEVELS))
    timing = ["-d", str(a.duration), "-w", str(a.warmup), "-c", levels, "--no-check"]
    label = f"{side.name}|{route.slug}|{run}"
    sh(PY, str(TOOLS / "load.py"), side.url(route), "-H", auth, *timing, "--label", label, "--jsonl", str(jsonl))


def tables(jsonl: Path) -> str:
    """Medians of the rounds as two markdown tables (throughput with ratios; latency), plus warning lines."""
    runs: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    for line in jsonl.read_text().splitlines():
        r = json.loads(line)
        side, slug, _ = r["label"].split("|")
        runs[side, slug, r["concurrency"]].append(r)

    def med(side: str, slug: str, c: int, field: str) -> float | None:
        """Req/s over every round; a latency over the rounds in which an answer came back (None if none did)."""
        rounds = runs[side, slug, c]
        values = [float(r[field]) for r in rounds if field == "rps" or r["requests"]]
        return statistics.median(values) if values else None

    def cell(side: str, slug: str, spec: str, *fields: str) -> str:
        def one(c: int, f: str) -> str:
            v = med(side, slug, c, f)
            return "–" if v is None else format(v, spec)

        return " / ".join("/".join(one(c, f) for f in fields) for c in LEVELS)

    def ratio(slug: str, c: int) -> str:
        ours, theirs = med("ours", slug, c, "rps"), med("py-ispyb", slug, c, "rps")
        return f"{ours / theirs:.1f}" if ours is not None and theirs else "n/a"

    out = [
        "| route | ours req/s c=1 / c=32 | py-ispyb req/s c=1 / c=32 | ratio ours/py-ispyb c=1 / c=32 |",
        "|---|---|---|---|",
    ]
    for r in ROUTES:
        ours, theirs = (cell(s, r.slug, ".0f", "rps") for s in SIDES)
        out.append(f"| {r.title} | {ours} | {theirs} | {' / '.join(ratio(r.slug, c) for c in LEVELS)} |")
    out += ["", "| route | ours p50/p99 ms c=1 / c=32 | py-ispyb p50/p99 ms c=1 / c=32 |", "|---|---|---|"]
    for r in ROUTES:
        ours, theirs = (cell(s, r.slug, ".1f", "p50_ms", "p99_ms") for s in SIDES)
        out.append(f"| {r.title} | {ours} | {theirs} |")
    for (side, slug, c), rs in runs.items():
        if errors := sum(r["errors"] for r in rs):
            out.append(f"# warning: {side} {slug} c={c}: {errors} errors (non-2xx or socket) in {len(rs)} rounds")
        if empty := sum(not r["requests"] for r in rs):
            out.append(f"# warning: {side} {slug} c={c}: no answer within the window in {empty} of {len(rs)} rounds")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pyispyb-python", required=True, help="the python of py-ispyb's venv (bench/pyispyb/setup.sh)")
    p.add_argument("--rounds", type=int, default=2, help="rounds per route, each ours then py-ispyb")
    p.add_argument("--duration", type=float, default=15.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each run")
    p.add_argument("--port", type=int, default=8811, help="our service")
    p.add_argument("--pyispyb-port", type=int, default=8812)
    p.add_argument("--db", help="an existing reference-volume database to use instead of building one")
    p.add_argument("--keep", action="store_true", help="keep the database built for the run")
    a = p.parse_args()
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    jsonl, log = results / f"versus-{stamp}.jsonl", results / f"versus-{stamp}-pyispyb.log"
    with reference_database(a.keep) if a.db is None else nullcontext(a.db) as db:
        sh("mariadb", "-h127.0.0.1", "-uroot", db, "-e", STAFF_SQL)
        with served(db, a.port) as ours, pyispyb_served(a.pyispyb_python, db, a.pyispyb_port, log) as theirs:
            sides = (
                Side("ours", ours.base, ours.token, login(ours.base, STAFF)),
                Side("py-ispyb", theirs, login(theirs, "abcd"), login(theirs, STAFF)),
            )
            for route in ROUTES:
                check(route, sides)
            for run in range(1, a.rounds + 1):
                for route in ROUTES:
                    for side in sides:
                        drive(side, route, run, a, jsonl)
    print(f"\n# {a.rounds} rounds of {a.duration:g} s after {a.warmup:g} s warm-up; medians; {jsonl}\n")
    print(tables(jsonl))


if __name__ == "__main__":
    main()
