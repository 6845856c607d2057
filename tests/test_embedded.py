"""Smoke test of the embedded default through the real CLI: SQLite file, a SecantusDB process, demo data."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.embedded import free_port

CLI = str(Path(sys.executable).parent / "ispyb-hybrid")


def test_serve_embedded_default(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPYB_")}
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [CLI, "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}/ispyb/api/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            raise AssertionError(log.read_text())
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
    assert process.returncode is not None


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
