#!/usr/bin/env python3
"""Issue 15's figures in one run, on one throw-away reference-volume database (bench/common.py):

1. raw ceilings (../shared/bench/db_ceiling.py): the primary-key SELECT of data collection 10001 on one connection
   and on two processes (the c=32 ceiling of two cores), and the session page's SQL (a page of 25 and the count);
2. one uvicorn worker: each route at c=1 and c=32 (../shared/bench/load.py), the unified read after 3 results and
   200 metrics on collection 10001 and 20,000 metrics on other collections;
3. the ratios to the ceilings and unified / SQL-only;
4. two workers, served beside the one worker and measured route by route in turn with it: the SQL routes again,
   the ratio 2 / 1 worker, where the machine's CPU went, and what two busy processes get from this machine at all
   (a pure-Python loop in one and in two processes, before and after those runs);
5. 10x more collections in another proposal's sessions: p50 at c=1 of a session page and of one collection,
   before and after.

Prints figures as markdown; asserts nothing. Raw records go to bench/results/api-<time>.jsonl.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, TOOLS, Server, reference_database, served, sh  # noqa: E402
from bench.versus_pyispyb import STAFF, STAFF_SQL, login  # noqa: E402


@dataclass(frozen=True)
class Route:
    slug: str
    path: str
    staff: bool = False
    sql: bool = True  # answered from MariaDB alone (measured again with two workers)


ROUTES = (
    Route("datacollection", "/datacollections/10001"),
    #: measured next to the SQL-only read, whose rate it is compared with: minutes apart, the machine drifts
    #: (api_bench's run of 2026-12-05 23:06, seven minutes apart: 36 % / 37 %; the two runs before it: 50-54 %)
    Route("unified", "/datacollections/10001?include=results,metrics", sql=False),
    Route("session-page", "/events?sessionId=11"),
    Route("auto-integrations", "/processings/auto-integrations?dataCollectionId=10001"),
    Route("proposals", "/proposals"),
    Route("sessions-of-proposal", "/sessions?proposal=blc00001"),
    Route("staff-proposals", "/proposals", staff=True),
    Route("user-current (floor)", "/user/current"),
)
UNRELATED = ("session-page", "datacollection")
LEVELS = (1, 32)
PK = ["pk", "--table", "DataCollection", "--pk", "dataCollectionId", "--id", "10001"]
SESSION_SQL = ["sql", "--sql-file", str(TOOLS / "sql" / "dcs_of_session_page_count.sql")]
TICK = os.sysconf("SC_CLK_TCK")
COUNT = "SELECT COUNT(*) FROM DataCollection"
#: a pure-Python loop for ``seconds``; prints how many rounds it made
SPIN = (
    "import time\nt, n = time.perf_counter(), 0\n"
    "while time.perf_counter() - t < {seconds}:\n    sum(range(10_000))\n    n += 1\nprint(n)"
)


def machine_scaling(seconds: float = 3.0) -> float:
    """The work two busy processes do together over what one does alone: the most a second worker can add on this
    machine, whatever the service (2 on two quiet cores; less when the host lends the virtual cores to others)."""

    def rounds(processes: int) -> int:
        spins = [subprocess.Popen([PY, "-c", SPIN.format(seconds=seconds)], stdout=subprocess.PIPE, text=True)
                 for _ in range(processes)]  # fmt: skip
        return sum(int(spin.communicate()[0]) for spin in spins)

    alone_before, together, alone_after = rounds(1), rounds(2), rounds(1)  # in turn: one alone on each side
    return 2 * together / (alone_before + alone_after)


def mariadb(db: str, statement: str) -> str:
    """One statement through the mariadb client; its output without headers."""
    cmd = ["mariadb", "-h127.0.0.1", "-uroot", "-N", "-B", db, "-e", statement]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def _jiffies(pid: int) -> int:
    """User + system CPU ticks of one process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _processes() -> dict[int, tuple[int, str]]:
    """Every visible process: pid → (parent pid, command name)."""
    out: dict[int, tuple[int, str]] = {}
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit():
                stat = (d / "stat").read_text()
                out[int(d.name)] = (
                    int(stat.rsplit(")", 1)[1].split()[1]),
                    stat[stat.index("(") + 1 : stat.rindex(")")],
                )
        except OSError:
            continue
    return out


def _family(procs: dict[int, tuple[int, str]], pid: int | None) -> list[int]:
    """``pid`` and every process below it."""
    if pid is None:
        return []
    children = [p for p, (parent, _) in procs.items() if parent == pid]
    return [pid, *(q for child in children for q in _family(procs, child))]


def _machine_busy() -> int:
    """CPU ticks spent on all cores, other than idle and I/O wait."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4]


@dataclass
class Bench:
    """Where the figures go: load.py and db_ceiling.py append to one JSON-lines file; CPU use is kept beside."""

    jsonl: Path
    duration: float
    warmup: float
    #: per run: the cores used by the service, MariaDB, the document server and everything else
    cpu: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    #: ``machine_scaling`` before and after the one- and two-worker runs
    scaling: list[float] = field(default_factory=list)
    #: per run: how its connections were spread over the server's processes, halfway through it
    spread: dict[str, str] = field(default_factory=dict)

    def ceiling(self, db: str, label: str, *args: str, procs: int = 1) -> None:
        timing = ["--duration", str(self.duration), "--warmup", str(self.warmup), "--procs", str(procs)]
        sh(PY, str(TOOLS / "db_ceiling.py"), "--db", db, *timing, "--label", label, "--jsonl", str(self.jsonl), *args)

    def load(self, server: Server, token: str, label: str, route: Route, c: int) -> None:
        """load.py on one route at one concurrency; the cores used by the service, MariaDB, the document server and
        the rest kept."""
        procs = _processes()
        groups = (
            _family(procs, server.pid),
            [p for p, (_, name) in procs.items() if name in ("mariadbd", "mysqld")],
            _family(procs, server.docs_pid),
        )

        def used() -> list[int]:
            return [*(sum(map(_jiffies, g)) for g in groups), _machine_busy()]

        before, start = used(), time.monotonic()
        timing = ["-d", str(self.duration), "-w", str(self.warmup), "-c", str(c), *(["--no-check"] if c > 1 else [])]
        url, auth = server.base + route.path, f"Authorization: Bearer {token}"
        halfway = threading.Timer(self.warmup + self.duration / 2, self._note_spread, (label, server))
        halfway.start()
        sh(PY, str(TOOLS / "load.py"), url, "-H", auth, *timing, "--label", label, "--jsonl", str(self.jsonl))
        halfway.cancel()
        after, ticks = used(), (time.monotonic() - start) * TICK
        workers, maria, docs, total = ((a - b) / ticks for a, b in zip(after, before, strict=True))
        self.cpu[label] = (workers, maria, docs, total - workers - maria - docs)

    def _note_spread(self, label: str, server: Server) -> None:
        """The open connections to the server per process holding them (``ss``), most first: each worker listens on
        a socket of its own and the kernel spreads connections over them by their addresses."""
        port = urlsplit(server.base).port
        listed = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                                capture_output=True, text=True).stdout  # fmt: skip
        per: dict[str, int] = {}
        for pid in (part.split(",")[0] for part in listed.split("pid=")[1:]):
            per[pid] = per.get(pid, 0) + 1
        self.spread[label] = "/".join(str(n) for n in sorted(per.values(), reverse=True)) or "?"

    def records(self) -> dict[str, dict[str, Any]]:
        return {r["label"]: r for r in map(json.loads, self.jsonl.read_text().splitlines())}


def load_documents(server: Server) -> None:
    """3 results and 200 metrics on collection 10001, 20,000 metrics on the reference volume's other collections."""
    rng = random.Random(7)
    others = [dc for dc in range(2, 20002) if dc != 10001]

    def metric(n: int, dc: int) -> str:
        values = {"imageNumber": n, "estimatedResolution": rng.uniform(2.5, 8.0), "defocusU": rng.uniform(5e3, 3e4)}
        return json.dumps({"kind": "em.ctf", "dataCollectionId": dc, "values": values})

    headers = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.base, headers=headers, timeout=600) as client:
        for run in range(3):
            body = {"kind": "mx.autoproc", "program": {"name": f"bench-{run}"}, "dataCollectionIds": [10001],
                    "status": "success", "data": {"resolution": 1.8 + run / 10}}  # fmt: skip
            client.post("/results", json=body).raise_for_status()
        for lines in ([metric(n, rng.choice(others)) for n in range(20_000)], [metric(n, 10001) for n in range(200)]):
            client.post("/metrics/bulk", content="\n".join(lines).encode()).raise_for_status()


def add_unrelated(db: str, collections: int) -> None:
    """``collections`` more data collections (with their processing) in sessions of a new proposal of ``efgh``."""
    new = "INSERT INTO Proposal (personId, title, proposalCode, proposalNumber, state) SELECT personId,"
    proposal = mariadb(db, f"{new} 'api_bench: unrelated', 'oth', '00001', 'Open' FROM Person WHERE login = 'efgh';"
                       " SELECT LAST_INSERT_ID()")  # fmt: skip
    scale = ["--sessions", str(max(1, collections // 1000)), "--dcs", str(collections), "--tag", "unrelated"]
    sh(PY, str(TOOLS / "scale_ispyb.py"), "--db", db, "--proposal-id", proposal, "--login", "efgh", *scale)


def p50s(b: Bench, db: str, server: Server, step: str) -> None:
    """Step 5's figures at c=1: the session page and one collection, and the session page's raw SQL."""
    for route in (r for r in ROUTES if r.slug in UNRELATED):
        b.load(server, server.token, f"{step}|{route.slug}|1", route, 1)
    b.ceiling(db, f"{step}|session-sql|1", *SESSION_SQL)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each run")
    p.add_argument("--port", type=int, default=8831, help="one worker; two workers on port+1, the last on port+2")
    p.add_argument("--unrelated", type=int, default=200_000, help="collections added in other sessions (step 5)")
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    a = p.parse_args()
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    b = Bench(ROOT / "bench" / "results" / f"api-{time.strftime('%Y%m%d-%H%M%S')}.jsonl", a.duration, a.warmup)
    with reference_database(a.keep) as db:
        sh("mariadb", "-h127.0.0.1", "-uroot", db, "-e", STAFF_SQL)
        b.ceiling(db, "ceiling|pk|1", *PK)
        b.ceiling(db, "ceiling|pk|2", *PK, procs=2)
        b.ceiling(db, "ceiling|session-page|1", *SESSION_SQL)
        with served(db, a.port) as one, served(db, a.port + 1, workers=2) as two:
            staff = {one.base: login(one.base, STAFF), two.base: login(two.base, STAFF)}
            t0 = time.monotonic()
            load_documents(one)
            print(f"# 3 results, 20,200 metrics loaded in {time.monotonic() - t0:.0f} s", flush=True)
            b.scaling.append(machine_scaling())
            for c in LEVELS:
                for route in ROUTES:
                    for phase, server in (("1w", one), ("2w", two)) if route.sql else (("1w", one),):
                        token = staff[server.base] if route.staff else server.token
                        b.load(server, token, f"{phase}|{route.slug}|{c}", route, c)
            b.scaling.append(machine_scaling())
        with served(db, a.port + 2) as server:
            sizes = [mariadb(db, COUNT)]
            p50s(b, db, server, "before")
            t0 = time.monotonic()
            add_unrelated(db, a.unrelated)
            sizes.append(f"{mariadb(db, COUNT)} after (added in {time.monotonic() - t0:.0f} s)")
            p50s(b, db, server, "after")
    print(report(b, sizes))


def report(b: Bench, sizes: list[str]) -> str:
    """The tables and ratios of issue 15, from the run's records."""
    r = b.records()
    cores = f"{os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable)"
    engine = r["1w|datacollection|1"]["engine"]
    out = [f"\n# {b.duration:g} s measured after {b.warmup:g} s warm-up per run; load client {engine}; {cores}"]
    out += [f"# records: {b.jsonl}", "", "## Raw ceilings (PyMySQL, no web layer)", ""]
    out += ["| ceiling | processes | queries/s | p50 ms | p99 ms |", "|---|---|---|---|---|"]
    for name, label in (("PK select DC 10001", "pk"), ("session page SQL (page + count)", "session-page")):
        for procs in (1, 2) if label == "pk" else (1,):
            x = r[f"ceiling|{label}|{procs}"]
            out.append(f"| {name} | {procs} | {x['qps']:.0f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} |")

    def rps(label: str) -> float:
        return float(r[label]["rps"])

    def cells(label: str) -> str:
        x = r[label]
        return f"{x['rps']:.0f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f}"

    def cpu(label: str) -> str:
        return " / ".join(f"{v:.2f}" for v in b.cpu[label])

    out += ["", "## One worker", "", "| route | c=1 req/s | p50 ms | p99 ms | c=32 req/s | p50 ms | p99 ms | errors |"]
    out.append("|---|---|---|---|---|---|---|---|")
    for route in ROUTES:
        errors = sum(r[f"1w|{route.slug}|{c}"]["errors"] for c in LEVELS)
        out.append(f"| {route.slug} | {cells(f'1w|{route.slug}|1')} | {cells(f'1w|{route.slug}|32')} | {errors} |")
    pk1, pk2, page = (r[f"ceiling|{x}"]["qps"] for x in ("pk|1", "pk|2", "session-page|1"))
    ratios = [
        ("datacollection c=32 / PK ceiling, 2 processes (the one the target is for)", rps("1w|datacollection|32") / pk2,
         "≥ 30 %"),
        ("datacollection c=32 / PK ceiling, 1 connection", rps("1w|datacollection|32") / pk1, ""),
        ("session page c=1 / session-page SQL ceiling", rps("1w|session-page|1") / page, "≥ 50 %"),
        *((f"unified / SQL-only datacollection, c={c}", rps(f"1w|unified|{c}") / rps(f"1w|datacollection|{c}"),
           "≥ 50 %") for c in LEVELS),
    ]  # fmt: skip
    out += ["", "| ratio | value | issue target |", "|---|---|---|"]
    out += [f"| {name} | {value:.0%} | {target} |" for name, value, target in ratios]
    out += ["", "## CPU per request, one worker: what bounds unified / SQL-only", ""]
    out += [
        "| route | c | req/s | ms of CPU per request: worker | MariaDB | SecantusDB | other |",
        "|---|---|---|---|---|---|---|",
    ]
    for slug in ("datacollection", "unified"):
        for c in LEVELS:
            label = f"1w|{slug}|{c}"
            per = " | ".join(f"{1000 * cores / rps(label):.2f}" for cores in b.cpu[label])
            out.append(f"| {slug} | {c} | {rps(label):.0f} | {per} |")
    out.append("# cores over the run (warm-up included) / req/s of its measured window; 'other': the load client and"
               " the rest of the machine")  # fmt: skip

    out += ["", f"## Two workers: the machine's {cores} shared by the load client, MariaDB and the workers", ""]
    before, after = b.scaling
    out.append(f"Two processes spinning a pure-Python loop did {before:.2f}× the work of one before these runs and "
               f"{after:.2f}× after: the most a second worker can add on this machine at the time.")  # fmt: skip
    out.append("")
    out.append("| route | c=1 req/s 1w → 2w | ratio | c=32 req/s 1w → 2w | ratio | c=32 cores 1w: service / MariaDB / "
               "documents / other | at most 2w / 1w | c=32 cores 2w | c=32 connections per 2w worker "
               "| errors 2w |")  # fmt: skip
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for route in (x for x in ROUTES if x.sql):
        one, two = (f"1w|{route.slug}|", f"2w|{route.slug}|")
        row = [f"{rps(one + str(c)):.0f} → {rps(two + str(c)):.0f} | {rps(two + str(c)) / rps(one + str(c)):.2f}×"
               for c in LEVELS]  # fmt: skip
        errors = sum(r[f"{two}{c}"]["errors"] for c in LEVELS)
        bound = f"{(os.cpu_count() or 1) / sum(b.cpu[one + '32']):.2f}×"
        shown = [" | ".join(row), cpu(one + "32"), bound, cpu(two + "32"), b.spread.get(two + "32", "?"), str(errors)]
        out.append(f"| {route.slug} | {' | '.join(shown)} |")
    out.append(
        "# issue target: 2w / 1w ≥ 1.5× at c=32. 'cores' = CPU-seconds per second during the run (warm-up included):"
        " the service's processes, MariaDB, SecantusDB, and everything else (the load client, other users); "
        f"their sum near {os.cpu_count()} means the machine, not the service, bounds the 2-worker figure. 'at most':"
        f" {os.cpu_count()} cores over the cores the one-worker run used in all, the most a second worker can add"
        " while the load client, MariaDB and the workers share the machine. 'connections': how the load client's"
        " keep-alive connections were spread over the two workers halfway through the run (whichever worker is awake"
        " accepts them; all on one leaves the other idle)."
    )

    out += ["", "## Unrelated data: a session page and one collection, c=1 p50", ""]
    out += [f"DataCollection rows: {sizes[0]} before, {sizes[1]}, in another proposal's sessions", ""]
    out += ["| route | p50 ms before | p50 ms after | change | p99 ms before → after |", "|---|---|---|---|---|"]
    for slug in (*UNRELATED, "session-sql"):
        x, y = r[f"before|{slug}|1"], r[f"after|{slug}|1"]
        name = "session page SQL (raw, no web layer)" if slug == "session-sql" else slug
        change = y["p50_ms"] / x["p50_ms"] - 1
        out.append(f"| {name} | {x['p50_ms']:.2f} | {y['p50_ms']:.2f} | {change:+.0%} | "
                   f"{x['p99_ms']:.2f} → {y['p99_ms']:.2f} |")  # fmt: skip
    out.append("# issue target: a route's p50 within 20 % after 10× more collections in other sessions")
    return "\n".join(out)


if __name__ == "__main__":
    main()
