"""Schemathesis over the whole OpenAPI, on both schema flavours, as a scientist and as staff: a server error
(500) anywhere is a failure. Not part of the pytest run (it takes minutes); run it before calling an issue done:

    .venv/bin/pip install -q -e '.[fuzz]' && .venv/bin/python tests/fuzz_api.py [--max-examples 30] [--flavour dls]

Each flavour gets a throw-away MariaDB database loaded from ../shared with the test data set, one SecantusDB
process and one uvicorn worker; schemathesis then runs its examples, coverage and fuzzing phases with the
`not_a_server_error` check and prints its own summary per run. The exit code is non-zero if any run failed.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.cli.embedded import DocumentServer, free_port  # noqa: E402
from tests import factories  # noqa: E402
from tests.conftest import JWT_SECRET, _build, load_flavour, mariadb  # noqa: E402

ROLES = {"scientist": "sci_a", "staff": "staff"}


def serve(database: str, mongo_url: str, port: int) -> subprocess.Popen[bytes]:
    groups = [
        {
            "groupName": "TB",
            "uiGroup": "mx",
            "permission": factories.STAFF_PERMISSION,
            "beamLines": [{"beamLineName": factories.BEAMLINE_A}],
        }
    ]
    env = {
        **os.environ,
        "ISPYB_MODE": "dev",
        "ISPYB_SQL_URL": f"mysql+aiomysql://root@127.0.0.1:3306/{database}",
        "ISPYB_MONGO_URL": mongo_url,
        "ISPYB_MONGO_DB": database,
        "ISPYB_JWT_SECRET": JWT_SECRET,
        "ISPYB_AUTH_PLUGINS": "dummy",
        "ISPYB_BEAMLINE_GROUPS": json.dumps(groups),
    }
    uvicorn = Path(sys.executable).parent / "uvicorn"
    cmd = [str(uvicorn), "app.main:app", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    return subprocess.Popen(cmd, env=env, cwd=ROOT)


def wait_until_up(base: str) -> None:
    for _ in range(150):
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the service at {base} did not start")


def token(base: str, login: str) -> str:
    r = httpx.post(f"{base}/auth/login", json={"plugin": "dummy", "login": login, "password": "x"}, timeout=10)
    r.raise_for_status()
    return str(r.json()["token"])


def fuzz(flavour: str, max_examples: int, workers: int) -> list[tuple[str, str, int]]:
    """Schemathesis runs on one flavour, one per role: (flavour, role, exit code)."""
    database = f"ispyb_fuzz_{flavour}_{uuid.uuid4().hex[:6]}"
    load_flavour(flavour, database)
    asyncio.run(_build(f"mysql+aiomysql://root@127.0.0.1:3306/{database}", flavour))
    documents = DocumentServer(":memory:").start()
    port = free_port()
    server = serve(database, documents.url, port)
    origin = f"http://127.0.0.1:{port}"
    outcomes = []
    try:
        wait_until_up(f"{origin}/ispyb/api/v1")
        for role, login in ROLES.items():
            bearer = token(f"{origin}/ispyb/api/v1", f"{login}_{flavour}")
            print(f"\n## schemathesis: {flavour} flavour, {role} ({login}_{flavour})", flush=True)
            cmd = [
                str(Path(sys.executable).parent / "st"), "run", f"{origin}/ispyb/api/v1/openapi.json",
                "--url", f"{origin}", "--checks", "not_a_server_error", "--header", f"Authorization: Bearer {bearer}",
                "--max-examples", str(max_examples), "--workers", str(workers), "--phases", "examples,coverage,fuzzing",
                "--generation-database", "none", "--request-timeout", "30", "--no-color",
            ]  # fmt: skip
            outcomes.append((flavour, role, subprocess.run(cmd, cwd=ROOT).returncode))
    finally:
        server.terminate()
        server.wait(10)
        documents.stop()
        mariadb("-e", f"DROP DATABASE IF EXISTS `{database}`")
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavour", choices=["official", "dls"], action="append")
    parser.add_argument("--max-examples", type=int, default=30)
    # one: with two, Hypothesis parses lambdas' source (ast.parse) on two threads at once, and CPython 3.11.7 then
    # fails now and then with "SystemError: AST constructor recursion depth mismatch" (gh-106905, fixed in 3.11.8)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    outcomes = [o for f in args.flavour or ["official", "dls"] for o in fuzz(f, args.max_examples, args.workers)]
    print("\n## summary")
    for flavour, role, code in outcomes:
        print(f"{flavour:9} {role:10} {'passed' if code == 0 else f'FAILED (exit {code})'}")
    return 0 if all(code == 0 for _, _, code in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
