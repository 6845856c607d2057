"""The file rules (``app.files``): what may be served, bounded file-system calls, Range. A small app of its own
serves ``?p=<stored path>`` as a route would, with a pool whose limits the test chooses; no database needed."""

import logging
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from app import problems
from app.files import FilePool, available, caller_login, file_response, in_file_thread, local_path, paths
from schemas.errors import FilesUnavailable, NotFound

BODY = bytes(range(256)) * 40  # 10240 bytes


class Served:
    """The small app, its state (roots, path map, pool) and a client."""

    def __init__(self, roots: list[str], path_map: dict[str, str], threads: int = 2, timeout: float = 0.5) -> None:
        settings = SimpleNamespace(data_roots=roots, data_path_map=path_map)
        self.state: Any = SimpleNamespace(settings=settings, files=FilePool(threads, timeout))
        app = FastAPI()
        problems.install(app)

        @app.get("/f")
        async def serve(p: str, request: Request) -> Response:
            caller_login.set("someone")
            return await file_response(self.state, request, p, filename=request.query_params.get("name"))

        @app.get("/hang")
        async def hang(seconds: float) -> dict[str, str]:
            await in_file_thread(self.state, time.sleep, seconds)
            return {}

        @app.get("/plain")
        async def plain() -> dict[str, bool]:
            return {"ok": True}

        self.client = TestClient(app)

    def get(self, stored: str | Path, **headers: str) -> Any:
        return self.client.get("/f", params={"p": str(stored)}, headers=headers)


@pytest.fixture
def served(data_dir: Path) -> Iterator[Served]:
    s = Served([str(data_dir)], {})
    with s.client:
        yield s
    s.state.files.close()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside every data root."""
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    return secret


def _write(path: Path, body: bytes = BODY) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


def test_serves_a_file_with_its_type_and_validators(served: Served, data_dir: Path) -> None:
    r = served.get(_write(data_dir / "a" / "snap.png"))
    assert r.status_code == 200
    assert r.content == BODY
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-length"] == "10240"
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["etag"].startswith('"') and r.headers["last-modified"].endswith("GMT")
    again = served.get(data_dir / "a" / "snap.png", **{"If-None-Match": r.headers["etag"]})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", r.headers["etag"])


def test_a_download_name_is_an_attachment(served: Served, data_dir: Path) -> None:
    path = _write(data_dir / "x.dat", b"log")
    r = served.client.get("/f", params={"p": str(path), "name": "run 1.txt"})
    assert r.headers["content-disposition"] == "attachment; filename*=utf-8''run%201.txt"
    assert r.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("suffix", "reason"),
    [
        ("/../outside.txt", "`..`"),
        ("/a/../../outside.txt", "`..`"),
        ("/a/%2e%2e/%2E%2E/outside.txt", "`..`"),
        ("/a/%252e%252e/outside.txt", "`..`"),
        ("/a/..\\..\\outside.txt", "`..`"),
        ("/a\x00b", "NUL"),
    ],
)
def test_climbing_is_refused_as_written(data_dir: Path, suffix: str, reason: str) -> None:
    with pytest.raises(paths.Refused, match=reason):
        paths.lexical(f"{data_dir}{suffix}", {})


def test_lexical_rules(data_dir: Path) -> None:
    root = str(data_dir)
    for nothing in (None, ""):
        with pytest.raises(paths.Missing):
            paths.lexical(nothing, {})
    with pytest.raises(paths.Refused, match="not absolute"):
        paths.lexical("data/x.png", {})
    assert paths.lexical(f"{root}//a/./b.png", {}) == f"{root}/a/b.png"


def test_roots_hold_what_is_served(data_dir: Path) -> None:
    root = str(_write(data_dir / "x").parent)
    with pytest.raises(paths.Refused, match="under none"):
        paths.resolved("/etc/passwd", [root])
    with pytest.raises(paths.Refused, match="under none"):
        paths.resolved(f"{root}-other/x", [root])  # a sibling sharing the root's name as a prefix
    with pytest.raises(paths.Refused, match="under none"):
        paths.resolved(f"{root}/x", [])  # no roots: nothing is served
    assert paths.resolved(f"{root}/x", ["/elsewhere", f"{root}/"]) == f"{root}/x"


def test_path_map_longest_prefix_wins_and_cannot_climb(data_dir: Path) -> None:
    root = str(data_dir)
    path_map = {"/dls": "/nowhere", "/dls/i03/": f"{root}/i03", "/esrf": f"{root}/../..", "/soleil": f"{root}/%2E%2e"}
    assert paths.lexical("/dls/i03/data/x.cbf", path_map) == f"{root}/i03/data/x.cbf"
    assert paths.mapped("/dls/i04/x", path_map) == "/nowhere/i04/x"
    assert paths.mapped("/dlsx/i03/x", path_map) == "/dlsx/i03/x"  # a prefix is a whole directory
    for climbing in ("/esrf/x", "/soleil/x"):
        with pytest.raises(paths.Refused, match="path map"):
            paths.lexical(climbing, path_map)


def test_the_path_map_serves_what_the_database_stores(data_dir: Path) -> None:
    _write(data_dir / "i03" / "snap.jpg")
    s = Served([str(data_dir)], {"/dls": str(data_dir)})
    with s.client:
        r = s.get("/dls/i03/snap.jpg")
        assert (r.status_code, r.content, r.headers["content-type"]) == (200, BODY, "image/jpeg")
        assert s.get("/elsewhere/i03/snap.jpg").status_code == 404


def test_refusals_answer_404_and_are_logged(
    served: Served, data_dir: Path, outside: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (data_dir / "out").symlink_to(outside)
    (data_dir / "hop1").symlink_to(data_dir / "hop2")
    (data_dir / "hop2").symlink_to(outside.parent)  # a chain of links leading out
    (data_dir / "loop").symlink_to(data_dir / "loop")
    (data_dir / "dir").mkdir()
    os.mkfifo(data_dir / "fifo")
    cases = {
        str(outside): "under none",
        f"{data_dir}/../{outside.name}": "`..`",
        str(data_dir / "out"): "outside ISPYB_DATA_ROOTS",
        str(data_dir / "hop1" / outside.name): "outside ISPYB_DATA_ROOTS",
        str(data_dir / "loop"): "symlink loop",
        str(data_dir / "dir"): "not a regular file",
        str(data_dir / "fifo"): "not a regular file",
    }
    for stored, reason in cases.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="app.files.serve"):
            started = time.monotonic()
            r = served.get(stored)
            took = time.monotonic() - started
        assert r.status_code == 404, stored
        assert r.json()["detail"] == "File not found"  # the reason stays in the log
        assert took < 0.3, stored  # a FIFO answers at once: never opened for a blocking read
        [record] = caplog.records
        assert record.levelname == "WARNING"
        assert record.getMessage().startswith(f"file refused to someone: {stored!r}: "), record.getMessage()
        assert reason in record.getMessage(), stored


def test_missing_is_404_logged_below_warning(served: Served, data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="app.files.serve"):
        r = served.get(data_dir / "nothing.png")
    assert r.status_code == 404
    assert [(rec.levelname, "does not exist" in rec.getMessage()) for rec in caplog.records] == [("INFO", True)]


def test_links_inside_the_roots_are_followed(served: Served, data_dir: Path) -> None:
    real = _write(data_dir / "real" / "snap.png")
    (data_dir / "l1").symlink_to(data_dir / "l2")
    (data_dir / "l2").symlink_to(real.parent)
    r = served.get(data_dir / "l1" / "snap.png")
    assert (r.status_code, r.content) == (200, BODY)


def test_a_root_that_is_a_symlink_is_resolved(data_dir: Path, outside: Path) -> None:
    real = _write(data_dir / "real" / "snap.png")
    link = data_dir / "mount"
    link.symlink_to(data_dir / "real")
    s = Served([str(link)], {})
    with s.client:
        assert s.get(link / "snap.png").content == BODY  # as stored through the link
        assert s.get(real).content == BODY  # as stored with the real path
        (data_dir / "real" / "escape").symlink_to(outside)
        assert s.get(link / "escape").status_code == 404
        assert s.get(data_dir / "other.png").status_code == 404  # beside the link's target: no root


def test_local_path_for_readers(data_dir: Path, outside: Path) -> None:
    real = _write(data_dir / "frames" / "x_0001.cbf")
    (data_dir / "frames" / "link.cbf").symlink_to(real)
    (data_dir / "frames" / "out.cbf").symlink_to(outside)
    s = Served([str(data_dir)], {})
    with s.client:
        portal = s.client.portal
        assert portal is not None
        assert portal.call(local_path, s.state, str(data_dir / "frames" / "link.cbf")) == real
        for refused in (data_dir / "frames" / "out.cbf", data_dir / "frames", data_dir / "none.cbf"):
            with pytest.raises(NotFound):
                portal.call(local_path, s.state, str(refused))


def test_ranges(served: Served, data_dir: Path) -> None:
    path = _write(data_dir / "frame.h5")
    one = served.get(path, Range="bytes=100-199")
    assert (one.status_code, one.content, one.headers["content-range"]) == (206, BODY[100:200], "bytes 100-199/10240")
    suffix = served.get(path, Range="bytes=-16")
    assert (suffix.status_code, suffix.content) == (206, BODY[-16:])
    open_ended = served.get(path, Range="bytes=10200-")
    assert (open_ended.status_code, open_ended.content) == (206, BODY[10200:])
    beyond = served.get(path, Range="bytes=20000-20010")
    assert (beyond.status_code, beyond.headers["content-range"]) == (416, "bytes */10240")
    several = served.get(path, Range="bytes=0-9, 5000-5009")
    assert several.status_code == 206
    assert several.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert BODY[0:10] in several.content and BODY[5000:5010] in several.content
    assert b"Content-Range: bytes 5000-5009/10240" in several.content
    assert served.get(path, Range="lines=1-2").status_code == 400
    stale = served.get(path, Range="bytes=0-9", **{"If-Range": '"another-etag"'})
    assert (stale.status_code, stale.content) == (200, BODY)  # the file changed since: all of it


def test_a_large_file_streams_whole(served: Served, data_dir: Path) -> None:
    body = os.urandom(3 * 1024 * 1024 + 17)
    r = served.get(_write(data_dir / "big.bin", body))
    assert (r.status_code, len(r.content), r.content == body) == (200, len(body), True)


def _release_fifo(fifo: Path) -> None:
    """Open the FIFO's writing end, which lets a reader blocked in ``open`` go (it then reads end of file)."""
    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    os.close(fd)


def test_a_reader_blocked_on_a_fifo_answers_503_in_time(served: Served, data_dir: Path) -> None:
    fifo = data_dir / "hung"
    os.mkfifo(fifo)
    portal = served.client.portal
    assert portal is not None
    started = time.monotonic()
    with pytest.raises(FilesUnavailable):
        portal.call(in_file_thread, served.state, Path.read_bytes, fifo)
    assert 0.45 < time.monotonic() - started < 1.5
    assert served.state.files.stuck == 1
    _release_fifo(fifo)
    deadline = time.monotonic() + 2
    while served.state.files.stuck and time.monotonic() < deadline:
        time.sleep(0.01)
    assert served.state.files.stuck == 0


def test_a_hung_open_answers_503_and_others_keep_answering(
    served: Served, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = _write(data_dir / "good.png")
    gate = threading.Event()
    real_open = paths.open_regular

    def hung_open(local: str, roots: list[str]) -> paths.Opened:
        if local.endswith("hung.png"):
            gate.wait(10)
        return real_open(local, roots)

    monkeypatch.setattr(paths, "open_regular", hung_open)
    try:
        with ThreadPoolExecutor(4) as pool:
            hung = pool.submit(served.get, data_dir / "hung.png")
            time.sleep(0.05)
            started = time.monotonic()
            other_file, plain = pool.submit(served.get, good), pool.submit(served.client.get, "/plain")
            assert (other_file.result().status_code, plain.result().status_code) == (200, 200)
            assert time.monotonic() - started < 0.4  # not held behind the hung call
            answer = hung.result()
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["title"] == "Files unavailable"
    finally:
        gate.set()


def test_a_read_hung_mid_file_ends_the_answer_in_time(
    served: Served, data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The status is sent when the file stops answering: the answer is cut short (its length told the client)."""
    path = _write(data_dir / "big.bin", os.urandom(1024 * 1024))
    gate = threading.Event()
    real_pread = os.pread

    def pread(fd: int, size: int, offset: int) -> bytes:
        if offset > 0:
            gate.wait(10)
        return real_pread(fd, size, offset)

    monkeypatch.setattr(os, "pread", pread)
    started = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger="app.files.serve"):
            r = served.get(path)
        assert time.monotonic() - started < 1.5
    finally:
        gate.set()
    assert (r.status_code, r.headers["content-length"], len(r.content)) == (200, str(1024 * 1024), 256 * 1024)
    pool_log, serve_log = caplog.records
    assert pool_log.name == "app.files.pool"
    assert pool_log.getMessage().endswith(", 262144, 262144) did not answer within 0.5s")  # the second chunk
    assert serve_log.getMessage() == f"file {str(path)!r} stopped answering within a transfer for someone"


def test_a_pool_held_by_hung_calls_refuses_at_once(served: Served, data_dir: Path) -> None:
    good = _write(data_dir / "good.png")
    gate = threading.Event()
    portal = served.client.portal
    assert portal is not None
    try:
        for _ in range(2):  # both threads
            with pytest.raises(FilesUnavailable):
                portal.call(in_file_thread, served.state, gate.wait, 10)
        assert served.state.files.stuck == 2
        started = time.monotonic()
        refused = served.get(good)
        assert refused.status_code == 503
        assert refused.json()["detail"] == "All 2 file threads wait on a file system that does not answer"
        assert served.client.get("/plain").status_code == 200
        assert time.monotonic() - started < 0.2  # no waiting for a thread that will not come
    finally:
        gate.set()
    deadline = time.monotonic() + 2
    while served.state.files.stuck and time.monotonic() < deadline:
        time.sleep(0.01)
    assert served.get(good).content == BODY


def test_busy_threads_are_waited_for_within_the_time_limit(served: Served) -> None:
    """More calls than threads, each shorter than the limit: they queue and all answer."""
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: served.client.get("/hang", params={"seconds": 0.05}).status_code, range(6)))
    assert answers == [200] * 6
    with ThreadPoolExecutor(3) as pool:  # two threads, three calls of 0.35 s within 0.5 s: the third gives up
        slow = sorted(pool.map(lambda _: served.client.get("/hang", params={"seconds": 0.35}).status_code, range(3)))
    assert slow == [200, 200, 503]


def test_available_says_which_could_be_served(served: Served, data_dir: Path, outside: Path) -> None:
    good = _write(data_dir / "good.png")
    os.mkfifo(data_dir / "fifo")
    (data_dir / "out").symlink_to(outside)
    stored = [str(good), str(data_dir / "none.png"), str(outside), None, str(data_dir / "fifo"), str(data_dir / "out")]
    portal = served.client.portal
    assert portal is not None
    assert portal.call(available, served.state, stored) == [True, False, False, False, False, False]
    gate = threading.Event()
    try:
        for _ in range(2):
            with pytest.raises(FilesUnavailable):
                portal.call(in_file_thread, served.state, gate.wait, 10)
        started = time.monotonic()
        assert portal.call(available, served.state, stored) == [False] * 6  # a list still answers, at once
        assert time.monotonic() - started < 0.2
    finally:
        gate.set()
