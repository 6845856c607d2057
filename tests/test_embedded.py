"""Smoke test of the embedded default through the real CLI: SQLite file, a SecantusDB process, demo data."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from app.cli.embedded import free_port

CLI = str(Path(sys.executable).parent / "ispyb-hybrid")


def _serve(tmp_path: Path, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [CLI, "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.5)
    raise AssertionError(log.read_text())


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ISPYB_")}


def test_serve_embedded_default(tmp_path: Path) -> None:
    port = free_port()
    env = _clean_env()
    log = tmp_path / "serve.log"
    process = _serve(tmp_path, env, port, log)
    base = f"http://127.0.0.1:{port}/ispyb/api/v1"
    try:
        _wait_healthy(base, process, log)
        health = httpx.get(f"{base}/health").json()
        assert health["status"] == "ok" and health["stores"]["sql"]["flavour"] == "embedded"
        tokens = dict(re.findall(r"^\s+(\w+) \(.*\): (\S+)$", log.read_text(), re.MULTILINE))
        assert set(tokens) == {"alice", "bob", "mxstaff", "admin"}

        def names(login: str) -> set[str]:
            r = httpx.get(f"{base}/proposals", headers={"Authorization": f"Bearer {tokens[login]}"})
            assert r.status_code == 200, r.text
            return {p["proposal"] for p in r.json()["results"]}

        assert names("alice") == {"MX1"} and names("admin") == {"MX1", "MX2"}
        r = httpx.get(
            f"{base}/events",
            params={"proposal": "MX1", "limit": 500},
            headers={"Authorization": f"Bearer {tokens['alice']}"},
        )
        assert r.json()["total"] > 100
        assert (tmp_path / ".ispyb-data" / "ispyb.sqlite").exists()
        _import_on_sqlite(tmp_path, env, base, tokens["alice"])
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    assert process.returncode == 128 + signal.SIGINT
    assert _gone_within(_document_server_pid(log), 5)


def _import_on_sqlite(tmp_path: Path, env: dict[str, str], base: str, token: str) -> None:
    """The CLI import writes into the embedded SQLite file (bulk INSERT…RETURNING there too)."""
    sheet = tmp_path / "puck.csv"
    rows = [f"D1,EMB-PK-1,Unipuck,{p},emb_{p},lyso1,OSC" for p in range(1, 17)]
    sheet.write_text("Dewar,Container barcode,Container type,Position,Sample name,Protein acronym,Experiment kind\n"
                     + "\n".join(rows))  # fmt: skip
    sqlite = f"sqlite+aiosqlite:///{tmp_path / '.ispyb-data' / 'ispyb.sqlite'}"
    result = subprocess.run(
        [CLI, "import-shipment", str(sheet), "--proposal", "MX1", "--login", "alice", "--shipping-name", "emb"],
        cwd=tmp_path,
        env=env | {"ISPYB_MODE": "embedded", "ISPYB_SQL_URL": sqlite},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    r = httpx.get(f"{base}/shippings", params={"proposal": "MX1"}, headers={"Authorization": f"Bearer {token}"})
    emb = [s for s in r.json()["results"] if s["shippingName"] == "emb"]
    assert [s["_metadata"] for s in emb] == [{"dewars": 1, "containers": 1, "samples": 16}]


def _document_server_pid(log: Path) -> int:
    found = re.search(r"^Embedded document server: pid (\d+),", log.read_text(), re.MULTILINE)
    assert found, log.read_text()
    return int(found[1])


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie left for an init that does not reap counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _metrics(base: str, log: Path) -> dict[str, Any]:
    """A page of the demo's metrics (documents) as the admin sees them, with a token ``serve`` printed."""
    token = re.findall(r"^\s+admin \(.*\): (\S+)$", log.read_text(), re.MULTILINE)[-1]
    r = httpx.get(f"{base}/metrics", params={"limit": 50}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


def _state_of(pid: int) -> str:
    """What a process that should have gone is doing (its state and where its threads wait), for a failure."""
    status = Path(f"/proc/{pid}/status").read_text() if _alive(pid) else "gone\n"
    threads = sorted(Path(f"/proc/{pid}/task").glob("*/wchan")) if _alive(pid) else []
    return status + "".join(f"{t.parent.name}: {t.read_text()}\n" for t in threads)


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not _alive(pid)


def test_shutdown_restart_and_a_second_serve_of_the_embedded_default(tmp_path: Path) -> None:
    """SIGTERM stops the document server and frees its storage; a second `serve` on storage in use says so in one
    sentence; SIGKILL of the service takes the document server with it."""
    env = _clean_env()
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def serve(name: str) -> tuple[subprocess.Popen[bytes], str, Path]:
        port, log = free_port(), tmp_path / f"{name}.log"
        started.append((process := _serve(tmp_path, env, port, log), log))
        return process, f"http://127.0.0.1:{port}/ispyb/api/v1", log

    try:
        first, base, log = serve("first")
        _wait_healthy(base, first, log)
        child = _document_server_pid(log)

        second = subprocess.run([CLI, "serve", "--port", str(free_port())], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert second.returncode == 1
        assert "Traceback" not in second.stdout + second.stderr
        assert f"in use by another running server (pid {child})" in second.stdout

        first.send_signal(signal.SIGTERM)
        assert first.wait(60) == 128 + signal.SIGTERM
        assert _gone_within(child, 5)

        again, base, log = serve("again")
        _wait_healthy(base, again, log)
        assert httpx.get(f"{base}/health").json()["stores"]["documents"]["state"] == "ok"
        metrics = _metrics(base, log)
        child = _document_server_pid(log)
        again.kill()
        again.wait()
        assert _gone_within(child, 5), _state_of(child)

        third, base, log = serve("third")  # on the storage the killed server left: recovered, with its documents
        _wait_healthy(base, third, log)
        assert httpx.get(f"{base}/health").json()["stores"]["documents"]["state"] == "ok"
        assert _metrics(base, log) == metrics and metrics["total"] > 0
    finally:
        for process, log in started:
            process.kill()
            process.wait()
            if (match := re.search(r"pid (\d+),", log.read_text())) and _alive(int(match[1])):
                os.kill(int(match[1]), signal.SIGKILL)
