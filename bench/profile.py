#!/usr/bin/env python3
"""Where one worker's time goes on a route under load: py-spy samples the worker while the shared load tool drives
the route, then this prints the event loop thread's time by package (the innermost frame of a package of interest)
and the functions most often on its stack. Install py-spy first (`pip install py-spy`; the `bench` extra).

    .venv/bin/python bench/profile.py /events?sessionId=11 --concurrency 32 --seconds 15
    .venv/bin/python bench/profile.py "/datacollections/10001?include=results,metrics" --documents

Builds the reference volume (bench/common.py) unless ``--db`` names one already built. Prints figures; asserts
nothing. Sampling slows the worker: the req/s printed beside the profile is not a throughput figure.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api_bench import load_documents  # noqa: E402
from bench.common import PY, TOOLS, reference_database, served  # noqa: E402

#: the packages a frame is counted under, the first that matches its file (most specific first)
PACKAGES = (
    ("sqlalchemy/sql/compiler", "SQLAlchemy compiler"),
    ("sqlalchemy/sql/cache_key", "SQLAlchemy cache keys"),
    ("sqlalchemy/sql", "SQLAlchemy statement building"),
    ("sqlalchemy/orm", "SQLAlchemy ORM"),
    ("sqlalchemy/engine", "SQLAlchemy engine and results"),
    ("sqlalchemy", "SQLAlchemy other"),
    ("aiomysql", "aiomysql"),
    ("pymysql", "PyMySQL (row decoding)"),
    ("pymongo", "PyMongo"),
    ("bson", "PyMongo"),
    ("pydantic", "pydantic"),
    ("fastapi", "FastAPI (routing, dependencies)"),
    ("starlette", "Starlette"),
    ("uvicorn", "uvicorn and HTTP parsing"),
    ("jwt", "PyJWT"),
    ("asyncio", "event loop and sockets"),
    ("anyio", "anyio"),
    ("contextlib", "contextlib (context managers)"),
    ("/app/", "service: app"),
    ("/relational/", "service: relational"),
    ("/documents/", "service: documents"),
)
#: the event loop thread's stacks hold a frame of this file (asyncio.run; py-spy also samples idle helper threads)
LOOP = "asyncio/runners.py"
#: frames on this share of the stacks or more are the server's trunk (uvicorn, middleware), left out
TRUNK = 0.9
FRAME = re.compile(r"^(?P<name>.*) \((?P<file>.*?):\d+\)$")


def _frame(text: str) -> tuple[str, str]:
    """A py-spy frame's ``function (file under site-packages)`` and its file rooted (a relative one as ``/path``)."""
    found = FRAME.match(text)
    if found is None:
        return text, text
    return f"{found['name']} ({found['file'].split('site-packages/')[-1]})", "/" + found["file"].lstrip("/")


def summary(raw: Path, top: int) -> str:
    """The event loop thread's samples: time by package (innermost matching frame), inclusive and own time."""
    by_package: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if LOOP not in stack:
            continue
        n, frames = int(count), stack.split(";")
        total += n
        parsed = [_frame(frame) for frame in frames]
        by_package[next((label for _, f in reversed(parsed) for key, label in PACKAGES if key in f), "other")] += n
        names = [name for name, _ in parsed]
        own[names[-1]] += n
        for name in set(names):
            inclusive[name] += n
    if not total:
        return "no samples of the event loop thread"
    lines = [f"{total} samples of the event loop thread", "", "| where | share |", "|---|---|"]
    lines += [f"| {label} | {100 * n / total:.1f} % |" for label, n in by_package.most_common()]
    lines += ["", f"functions on the stack below the server's trunk (top {top}, inclusive):"]
    below = [(name, n) for name, n in inclusive.most_common() if n < TRUNK * total][:top]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in below]
    lines += ["", f"functions at the top of the stack (top {top}, own time):"]
    lines += [f"  {100 * n / total:5.1f} %  {name}" for name, n in own.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("route", help="path under the API prefix, e.g. /datacollections/10001")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=int, default=15, help="sampled seconds (py-spy takes whole seconds)")
    p.add_argument("--rate", type=int, default=200, help="samples per second")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--db", help="a reference-volume database already built (else one is built and dropped)")
    p.add_argument("--port", type=int, default=8771)
    p.add_argument("--documents", action="store_true", help="first store api_bench's results and metrics (unified)")
    p.add_argument("--login", default="abcd", help="whose token drives the route (bench_staff: api_bench's staff)")
    a = p.parse_args()
    spy = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    with (
        reference_database(built=a.db) as db,
        served(db, a.port, login=a.login) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        raw = Path(tmp) / "profile.txt"
        if a.documents:
            load_documents(server)
        auth = f"Authorization: Bearer {server.token}"
        timing = ["-d", str(a.seconds + 6), "-w", "1", "-c", str(a.concurrency)]
        load = subprocess.Popen([PY, str(TOOLS / "load.py"), server.base + a.route, "-H", auth, *timing])
        time.sleep(3)  # the warm-up and the first measured second
        record = ["record", "-p", str(server.pid), "-d", str(a.seconds), "-r", str(a.rate), "-f", "raw"]
        subprocess.run([spy, *record, "-o", str(raw)], check=True, capture_output=True)
        load.wait()
        print(f"# {a.route} at c={a.concurrency}, {a.seconds} s sampled at {a.rate}/s", flush=True)
        print(summary(raw, a.top), flush=True)


if __name__ == "__main__":
    main()
