#!/usr/bin/env python3
"""Issue 14's file benchmark: crystal snapshots (``/datacollections/images/{id}?imageId=1``) and diffraction frames
(``/data/images``: the pixels the UI's viewer reads, their header, a 512-pixel JPEG) at concurrency 1 and 32,
warm (the same URL again: frame cache and page cache hot) and cold (each URL once, a frame not in the worker's
cache, its file's pages dropped with ``posix_fadvise(DONTNEED)``); then GET /proposals while 32 clients keep asking
for files on a hung mount, against /proposals alone.

The hung mount: a ``sitecustomize`` on the server's ``PYTHONPATH`` makes every ``stat``/``lstat``/``open`` of a path
under ``<data>/hung/`` block for ``--hang`` seconds in the thread that makes it, as a dead NFS mount does (no FUSE
here). Frames are Pilatus 6M-sized CBFs (2463 x 2527 pixels, ~6 MB; 25 MB as float32), snapshots 1280 x 1024 JPEGs.
One uvicorn worker, one SecantusDB process, a throw-away official-flavour database (20 sessions, 2,000
collections, scaled with the shared tools); client, server and databases share the machine's two cores.

    .venv/bin/python bench/thumbnails.py                    # --duration 5 --warmup 2 --port 8620
"""

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BIN, PY, ROOT, SHARED, TOOLS, Server, load, sh  # noqa: E402

COLD_C1, COLD_C32 = 12, 32  #: frames (and snapshots x 4) requested once each at concurrency 1 and 32
HANG_HOOK = """
import os, sys, time
exec(open({nodelay!r}).read())
_HUNG = {hung!r}
def _hang(fn):
    def hanging(path, *args, **kwargs):
        if isinstance(path, (str, bytes, os.PathLike)) and os.fsdecode(path).startswith(_HUNG):
            time.sleep({seconds})
        return fn(path, *args, **kwargs)
    return hanging
os.stat, os.lstat, os.open = _hang(os.stat), _hang(os.lstat), _hang(os.open)
"""


def _sql(db: str, statement: str) -> str:
    command = ["mariadb", "-h127.0.0.1", "-uroot", "-N", db, "-e", statement]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def _database(db: str) -> int:
    """The database scaled under proposal 1 (login abcd); its first new collection's id."""
    sh("mariadb", "-h127.0.0.1", "-uroot", "-e", f"CREATE DATABASE `{db}`")
    for part in ("1_tables", "2_lookups", "3_data"):
        with open(SHARED / "ispyb-database" / f"{part}.sql", "rb") as f:
            sh("mariadb", "-h127.0.0.1", "-uroot", db, stdin=f)
    first = int(_sql(db, "SELECT COALESCE(MAX(dataCollectionId), 0) + 1 FROM DataCollection"))
    scale = ["--sessions", "20", "--dcs", "2000", "--samples", "200"]
    sh(PY, str(TOOLS / "scale_ispyb.py"), "--db", db, "--proposal-id", "1", "--login", "abcd", *scale)
    return first


def _files(data: Path, first_dc: int) -> tuple[int, int]:
    """Snapshots and frames under ``data`` (and a hung folder); (snapshots, frames) written."""
    from fabio.cbfimage import CbfImage  # type: ignore[import-untyped]
    from PIL import Image

    rng = np.random.default_rng(14)
    (data / "snap").mkdir()
    (data / "frames").mkdir()
    (data / "hung").mkdir()
    photo = rng.normal(110, 25, (1024, 1280, 3)).clip(0, 255).astype(np.uint8)
    Image.fromarray(photo).save(data / "snapshot.jpg", quality=90)
    Image.fromarray(photo).resize((160, 128)).save(data / "snap" / f"{first_dc}t.jpg", quality=85)  # py-ispyb's name
    snapshots = 1 + 4 * (COLD_C1 + COLD_C32)
    for i in range(snapshots):
        shutil.copy(data / "snapshot.jpg", data / "snap" / f"{first_dc + i}.jpg")
    frame = rng.poisson(3, (2527, 2463)).astype(np.int32)
    frame[195:212, :] = -1
    CbfImage(data=frame, header={}).write(str(data / "frame.cbf"))
    frames = 1 + COLD_C1 + COLD_C32
    for number in range(1, frames + 1):
        shutil.copy(data / "frame.cbf", data / "frames" / f"x_{number:05d}.cbf")
    shutil.copy(data / "snapshot.jpg", data / "hung" / "snapshot.jpg")
    return snapshots, frames


def _point(db: str, data: Path, first_dc: int, snapshots: int, frames: int) -> None:
    last = first_dc + snapshots - 1
    sql = (
        f"UPDATE DataCollection SET xtalSnapshotFullPath1 = CONCAT('{data}/snap/', dataCollectionId, '.jpg') "
        f"WHERE dataCollectionId BETWEEN {first_dc} AND {last};"
        f"UPDATE DataCollection SET imageDirectory = '{data}/frames', fileTemplate = 'x_%05d.cbf', "
        f"numberOfImages = {frames}, startImageNumber = 1 WHERE dataCollectionId = {first_dc};"
        f"UPDATE DataCollection SET imageDirectory = '{data}/hung', fileTemplate = 'x_%05d.cbf', "
        f"numberOfImages = 1, xtalSnapshotFullPath1 = '{data}/hung/snapshot.jpg' WHERE dataCollectionId = {last + 1};"
    )
    _sql(db, sql)


@contextmanager
def _served(db: str, port: int, data: Path, hang: float) -> Iterator[Server]:
    """``bench.common.served`` with the data root and the hung mount's hook."""
    from app.cli.embedded import DocumentServer

    hook = Path(tempfile.mkdtemp(prefix="ispyb-bench-hook-"))
    nodelay = str(TOOLS / "nodelay" / "sitecustomize.py")
    (hook / "sitecustomize.py").write_text(HANG_HOOK.format(nodelay=nodelay, hung=f"{data}/hung", seconds=hang))
    docs = DocumentServer(":memory:").start()
    env = {
        **os.environ,
        "ISPYB_MODE": "dev",
        "ISPYB_SQL_URL": f"mysql+aiomysql://root@127.0.0.1/{db}",
        "ISPYB_MONGO_URL": docs.url,
        "ISPYB_MONGO_DB": db,
        "ISPYB_AUTH_PLUGINS": "dummy",
        "ISPYB_JWT_SECRET": "bench-secret-bench-secret-bench-secret",
        "ISPYB_DATA_ROOTS": f'["{data}"]',
        "PYTHONPATH": str(hook),
    }
    token = subprocess.run(
        [str(BIN / "ispyb-hybrid"), "token", "abcd"], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    cmd = [str(BIN / "uvicorn"), "app.main:app", "--port", str(port), "--log-level", "error", "--no-access-log"]
    server = subprocess.Popen(cmd, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}/ispyb/api/v1"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/health")
                break
            except httpx.TransportError:
                time.sleep(0.3)
        yield Server(base, token, server.pid, docs.url, db)
    finally:
        server.terminate()
        server.wait(10)
        docs.stop()
        shutil.rmtree(hook)


def _drop_pages(paths: list[Path]) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)


async def _once_each(server: Server, routes: list[str], concurrency: int) -> tuple[list[float], dict[int, int]]:
    """Each route asked once, ``concurrency`` at a time: latencies (ms) and answers by status."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for route in routes:
        queue.put_nowait(route)
    took: list[float] = []
    statuses: dict[int, int] = {}
    headers = {"Authorization": f"Bearer {server.token}"}
    async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=120) as client:

        async def worker() -> None:
            while not queue.empty():
                route = queue.get_nowait()
                started = time.perf_counter()
                r = await client.get(route)
                took.append((time.perf_counter() - started) * 1000)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return took, statuses


def _cold(server: Server, label: str, routes: list[str], files: list[Path], concurrency: int) -> None:
    _drop_pages(files)
    took, statuses = asyncio.run(_once_each(server, routes, concurrency))
    took.sort()
    p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
    print(
        f"{label}\tc={concurrency}\tn={len(took)}\tp50 {statistics.median(took):.1f} ms\tp99 {p99:.1f} ms"
        f"\tstatuses {statuses}",
        flush=True,
    )


@contextmanager
def _hung_clients(server: Server, routes: list[str], clients: int) -> Iterator[dict[int, int]]:
    """``clients`` threads each asking for a file on the hung mount, again 1 s after each answer."""
    stop, statuses, lock = threading.Event(), dict[int, int](), threading.Lock()

    def ask(i: int) -> None:
        with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {server.token}"}) as client:
            while not stop.is_set():
                try:
                    status = client.get(routes[i % len(routes)], timeout=60).status_code
                except httpx.TransportError:
                    status = 0
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                stop.wait(1)

    threads = [threading.Thread(target=ask, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(3)  # every client has sent its first request, the file threads are held
    try:
        yield statuses
    finally:
        stop.set()
        for thread in threads:
            thread.join(70)


def _events_probe(server: Server, hung_dc: int) -> None:
    """/proposals, one request after another, while one caller lists the events of a collection whose snapshot
    is on the hung mount (the list says which snapshots exist)."""
    headers = {"Authorization": f"Bearer {server.token}"}
    listing = threading.Thread(
        target=httpx.get,
        args=(f"{server.base}/events?dataCollectionId={hung_dc}",),
        kwargs={"headers": headers, "timeout": 120},
    )
    listing.start()
    time.sleep(0.3)
    took = []
    with httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:
        for _ in range(10):
            started = time.perf_counter()
            client.get("/proposals")
            took.append((time.perf_counter() - started) * 1000)
    listing.join()
    print(
        f"proposals while /events lists a hung snapshot: max {max(took):.0f} ms, p50 {statistics.median(took):.0f} ms"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--port", type=int, default=8620)
    p.add_argument("--hang", type=float, default=30.0, help="seconds a call on the hung mount blocks")
    p.add_argument("--keep", action="store_true", help="keep the database")
    a = p.parse_args()
    data = Path(tempfile.mkdtemp(prefix="ispyb-bench-files-")).resolve()
    db = f"bench_ispyb_a2_{uuid.uuid4().hex[:6]}"
    try:
        first_dc = _database(db)
        snapshots, frames = _files(data, first_dc)
        _point(db, data, first_dc, snapshots, frames)
        hung_dc = first_dc + snapshots
        with _served(db, a.port, data, a.hang) as server:
            t = (a.duration, a.warmup)
            frame = f"/data/images?dataCollectionId={first_dc}&imageNumber=1"
            print("# warm: the same URL again (load.py)", flush=True)
            load(server, f"/datacollections/images/{first_dc}?imageId=1", "snapshot warm", "1,32", *t)
            load(server, f"/datacollections/images/{first_dc}?imageId=1&snapshot=1", "snapshot thumb warm", "1,32", *t)
            load(server, frame, "frame raw warm", "1,32", *t)
            load(server, frame.replace("images?", "images/header?"), "frame header warm", "1,32", *t)
            load(server, f"{frame}&format=jpeg&size=512", "frame jpeg512 warm", "1,32", *t)

            print("# cold: each URL once, pages dropped; frames not in the worker's cache", flush=True)
            first = first_dc + 1
            for c, count in ((1, COLD_C1 * 4), (32, COLD_C32 * 4)):
                ids = range(first, first + count)
                files = [data / "snap" / f"{i}.jpg" for i in ids]
                _cold(server, "snapshot cold", [f"/datacollections/images/{i}?imageId=1" for i in ids], files, c)
                first += count
            numbers = {1: range(2, 2 + COLD_C1), 32: range(2 + COLD_C1, 2 + COLD_C1 + COLD_C32)}
            for kind, suffix in (("raw", ""), ("jpeg512", "&format=jpeg&size=512")):
                for c, range_ in numbers.items():
                    files = [data / "frames" / f"x_{n:05d}.cbf" for n in range_]
                    routes = [f"/data/images?dataCollectionId={first_dc}&imageNumber={n}{suffix}" for n in range_]
                    _cold(server, f"frame {kind} cold", routes, files, c)

            print(f"# a hung mount: 32 clients asking for files under {data}/hung ({a.hang:.0f} s per call)")
            load(server, "/proposals", "proposals, nothing hung", "1,32", *t)
            hung = [
                f"/datacollections/images/{hung_dc}?imageId=1",
                f"/data/images?dataCollectionId={hung_dc}&imageNumber=1",
            ]
            with _hung_clients(server, hung, 32) as statuses:
                load(server, "/proposals", "proposals, 32 hung file requests", "1,32", *t)
                load(server, f"/datacollections/images/{first_dc}?imageId=1", "healthy snapshot, 32 hung", "1", *t)
            print(f"hung requests' answers by status: {dict(sorted(statuses.items()))}", flush=True)
            _events_probe(server, hung_dc)
    finally:
        shutil.rmtree(data, ignore_errors=True)
        if not a.keep:
            subprocess.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", f"DROP DATABASE IF EXISTS `{db}`"])


if __name__ == "__main__":
    main()
