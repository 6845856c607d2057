"""Several workers of one service (issue 15). Each uvicorn worker is a process with caches of its own (people's
permissions and API keys for ISPYB_PERMISSION_CACHE_SECONDS, finished sessions' collection counts); what the
workers share is MariaDB and the document store (idempotency records, rollups, refresh tokens, used one-time
tokens, API keys). Two single-worker processes on two ports (so each request says which process answers) and one
``ispyb-hybrid serve --workers 2 --socket-per-worker`` server run over one throw-away database;
behaviour across processes does not depend on the schema flavour (covered by the rest of the suite), so the
official one is enough."""

import asyncio
import errno
import math
import os
import pickle
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from uvicorn.config import STARTUP_FAILURE

from app.cli.workers import PortShare
from app.idempotency import HEADER, REPLAYED
from documents import rollups
from relational.models import Person, RobotAction
from schemas.times import local_now
from tests import factories
from tests.test_api_keys import grant, leave_groups
from tests.test_metric_stats import ctf_lines
from tests.workers_harness import (
    API,
    ESTABLISHED,
    LISTENING,
    ROOT,
    TAG,
    Cluster,
    Server,
    cluster,
    free_ports,
    login,
    serve,
    socket_inodes,
    sockets_held,
)

A, B, MANY = free_ports(3)
#: ISPYB_PERMISSION_CACHE_SECONDS and ISPYB_REFRESH_GRACE_SECONDS of the processes (tests/workers_harness.py)
CACHE, GRACE = 1.0, 2.0
pytestmark = pytest.mark.commits


@pytest.fixture(scope="module")
def stack(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(mongo_url, {A: 1, B: 1, MANY: 2}, tmp_path_factory.mktemp("workers")) as servers:
        yield servers


@pytest.fixture
def spare() -> int:
    """A port of the test's own for a server it starts and stops."""
    return free_ports(1)[0]


def uid() -> str:
    return f"wk-{uuid.uuid4().hex[:10]}"


def get(stack: Cluster, port: int, path: str, headers: dict[str, str], **params: Any) -> httpx.Response:
    """A GET on a connection of its own (with several workers, any of them may take it)."""
    return httpx.get(stack.base(port) + path, params=params, headers=headers, timeout=30)


def post_until_answered(url: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    """A POST on a connection of its own, sent again while its key's first attempt is in flight (409), as a client
    does (sooner than the Retry-After of up to 5 s asks, to keep the test short)."""
    for _ in range(100):
        r = httpx.post(url, json=body, headers=headers, timeout=30)
        if r.status_code != 409:
            return r
        assert 1 <= int(r.headers["Retry-After"]) <= 5, r.headers
        time.sleep(0.1)
    raise AssertionError(f"still 409 after 100 tries: {r.text}")


def robot_action(stack: Cluster, message: str) -> dict[str, Any]:
    return {
        "sessionId": str(stack.data.sessions["a"]),
        "blSampleId": stack.data.samples["a"],
        "actionType": "LOAD",
        "status": "SUCCESS",
        "message": message,
    }


def robot_rows(stack: Cluster, message: str) -> int:
    query = select(func.count()).select_from(RobotAction).where(RobotAction.message == message)
    return asyncio.run(factories.count_at(stack.sql_url, query))


def check_one_write(stack: Cluster, ports: list[int], message: str, key: str) -> None:
    """The same keyed robot action sent at once to each of ``ports`` (each port as often), then once more to each:
    one row, every answer 201 with the same body, exactly one of them not a replay."""
    headers = stack.token("staff") | {HEADER: key}
    body = robot_action(stack, message)

    def send(port: int) -> httpx.Response:
        return post_until_answered(f"{stack.base(port)}/events/robot-action", body, headers)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, ports))
    answers += [send(port) for port in sorted(set(ports))]
    assert [r.status_code for r in answers] == [201] * len(answers), [r.text for r in answers]
    assert len({r.content for r in answers}) == 1, [r.text for r in answers]
    assert [REPLAYED in r.headers for r in answers].count(False) == 1
    assert robot_rows(stack, message) == 1


def test_one_idempotency_key_sent_to_both_processes_writes_once(stack: Cluster) -> None:
    message, key = uid(), uid()
    check_one_write(stack, [A, B] * 4, message, key)
    other, headers = robot_action(stack, message + "x"), stack.token("staff") | {HEADER: key}
    refused = [httpx.post(f"{stack.base(p)}/events/robot-action", json=other, headers=headers) for p in (A, B)]
    # the key for another body: refused by either process as by one, alike
    assert [r.status_code for r in refused] == [422, 422] and refused[0].content == refused[1].content
    assert HEADER in refused[0].json()["detail"] and refused[0].json()["errors"][0]["loc"] == ["header", HEADER]
    assert robot_rows(stack, message + "x") == 0


def test_a_result_sent_to_both_processes_with_one_key_is_stored_once(stack: Cluster) -> None:
    """A document write too: ``POST /results`` with one Idempotency-Key at once to both processes stores one
    result (version 1), answered 201 once and 200 with the same result otherwise."""
    _, dcs = stack.commit(_sessions_with_collections, stack.data.persons["sci_a"], 1)
    program, headers = uid(), stack.token("sci_a") | {HEADER: uid()}
    body = {"kind": "mx.autoproc", "program": {"name": program, "version": "1"}, "dataCollectionIds": dcs}
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(lambda port: httpx.post(f"{stack.base(port)}/results", json=body, headers=headers), [A, B] * 3)
        )
    assert sorted(r.status_code for r in answers) == [200] * 5 + [201], [r.text for r in answers]
    assert len({(r.json()["resultId"], r.json()["version"]) for r in answers}) == 1
    listed = get(stack, B, "/results", stack.token("sci_a"), dataCollectionId=dcs[0], limit=100).json()["results"]
    assert [(r["program"]["name"], r["version"]) for r in listed] == [(program, 1)]


async def _sessions_with_collections(db: AsyncSession, person_id: int, n: int) -> tuple[list[int], list[int]]:
    """``n`` sessions of new proposals of the person's, two collections each; the sessions and the collections."""
    sessions, dcs = [], []
    for _ in range(n):
        group = await factories.add_session_with_group(db, person_id, uid()[3:9], local_now(), member=True)
        for _ in range(2):
            session, dc = await factories.add_collection(db, group)
            dcs.append(dc)
        sessions.append(session)
    return sessions, dcs


async def _drift(mongo_url: str, database: str, sessions: list[int]) -> tuple[list[str], list[dict[str, Any]]]:
    """The rollups' drift from a recomputation over the sessions' raw metrics, and those raw metrics."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        db = client[database]
        where = {"sessionId": {"$in": sessions}}
        return await rollups.drift(db, where), await db.metrics.find(where).to_list()
    finally:
        await client.close()


def test_metrics_ingested_through_both_processes_at_once_roll_up_exactly(stack: Cluster) -> None:
    """Three batches per process, each over the same three sessions, at once; and one upload with an
    Idempotency-Key sent to both (stored once). The rollups equal a recomputation from the raw metrics, and both
    processes read the same summary from them: count, min and max of the raw values."""
    sessions, dcs = stack.commit(_sessions_with_collections, stack.data.persons["sci_a"], 3)
    headers = stack.token("sci_a")
    keyed = headers | {HEADER: uid()}
    uploads = [(port, "\n".join(ctf_lines(dcs, 150, seed)), headers) for seed, port in enumerate([A, B] * 3)]
    uploads += [(port, "\n".join(ctf_lines(dcs, 150, 99)), keyed) for port in (A, B)]

    def upload(job: tuple[int, str, dict[str, str]]) -> httpx.Response:
        port, body, with_headers = job
        return httpx.post(f"{stack.base(port)}/metrics/bulk", content=body, headers=with_headers, timeout=60)

    with ThreadPoolExecutor(len(uploads)) as pool:
        reports = [r.json() for r in pool.map(upload, uploads)]
    assert [r["rejected"] for r in reports] == [[]] * len(uploads)
    assert sum(r["accepted"] for r in reports) == 7 * 150 and sum(r["duplicates"] for r in reports) == 150
    problems, raw = asyncio.run(_drift(stack.mongo_url, stack.mongo_db, sessions))
    assert problems == [] and len(raw) == 7 * 150
    for session in sessions:
        values = [m["values"]["estimatedResolution"] for m in raw if m["sessionId"] == session]
        answers = [
            get(stack, port, "/stats/metrics/summary", headers, sessionId=session, kind="em.ctf").json()
            for port in (A, B)
        ]
        assert answers[0] == answers[1]
        stats = answers[0]["fields"]["estimatedResolution"]
        assert (stats["count"], stats["min"], stats["max"]) == (len(values), min(values), max(values))
        assert math.isclose(stats["mean"], sum(values) / len(values), rel_tol=1e-9)


def test_a_collection_summary_kept_by_one_process_follows_metrics_ingested_through_the_other(stack: Cluster) -> None:
    """Each process keeps a collection's metric summaries (``?include=metrics``) while its session's metric version
    holds; metrics stored through the other process bump it, so the next read anywhere counts them."""
    _sessions, dcs = stack.commit(_sessions_with_collections, stack.data.persons["sci_a"], 1)
    headers = stack.token("sci_a")
    path = f"/datacollections/{dcs[0]}"

    def counted(port: int) -> int:
        summaries = get(stack, port, path, headers, include="metrics").json()["documents"]["metrics"]
        return sum(s["count"] for s in summaries)

    for seed, (writer, reader) in enumerate([(A, B), (B, A), (A, A)]):
        before = counted(reader), counted(reader)  # read twice: the second from the reader's summary
        assert before[0] == before[1]
        lines = ctf_lines(dcs[:1], 20, 1000 + seed)
        r = httpx.post(f"{stack.base(writer)}/metrics/bulk", content="\n".join(lines), headers=headers, timeout=60)
        assert r.json()["accepted"] == 20, r.text
        assert counted(reader) == before[0] + 20


def test_a_collection_s_results_kept_by_one_process_follow_results_stored_and_patched_through_the_other(
    stack: Cluster,
) -> None:
    """Each process keeps a collection's latest results (``?include=results``) while its session's result version
    holds; a result stored, or patched, through the other process bumps it, so the next read anywhere shows it."""
    _sessions, dcs = stack.commit(_sessions_with_collections, stack.data.persons["sci_a"], 1)
    headers = stack.token("sci_a")
    path = f"/datacollections/{dcs[0]}"

    def shown(port: int) -> list[tuple[str, str]]:
        found = get(stack, port, path, headers, include="results").json()["documents"]["results"]
        return [(r["program"]["name"], r["status"]) for r in found]

    for seed, (writer, reader) in enumerate([(A, B), (B, A), (A, A)]):
        before = shown(reader), shown(reader)  # read twice: the second from the reader's keeping
        assert before[0] == before[1]
        body = {"kind": "mx.autoproc", "program": {"name": f"p{seed}"}, "dataCollectionIds": dcs, "status": "running"}
        r = httpx.post(f"{stack.base(writer)}/results", json=body, headers=headers, timeout=30)
        assert r.status_code == 201, r.text
        assert shown(reader) == [(f"p{seed}", "running"), *before[0]]
        patched = httpx.patch(
            f"{stack.base(writer)}/results/{r.json()['resultId']}", json={"status": "success"}, headers=headers
        )
        assert patched.status_code == 200, patched.text
        assert shown(reader) == [(f"p{seed}", "success"), *before[0]]


async def _person(db: AsyncSession, login_name: str, *permissions: str) -> int:
    """A new person holding ``permissions`` (a group of their own each); their id."""
    person = Person(login=login_name, givenName="worker", familyName="Test")
    db.add(person)
    await db.flush()
    for permission in permissions:
        await grant(db, person.personId, permission)
    return person.personId


def log_in(stack: Cluster, port: int, who: str) -> dict[str, Any]:
    r = httpx.post(f"{stack.base(port)}/auth/login", json=login(who))
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def statuses(stack: Cluster, path: str, headers: dict[str, str]) -> list[int]:
    """What each single-worker process answers."""
    return [get(stack, port, path, headers).status_code for port in (A, B)]


def answers_within(
    stack: Cluster, port: int, path: str, headers: dict[str, str], status: int, seconds: float
) -> httpx.Response:
    """The first answer with ``status`` the process gives within ``seconds``; fails if none does."""
    deadline = time.monotonic() + seconds
    while (r := get(stack, port, path, headers)).status_code != status and time.monotonic() < deadline:
        time.sleep(0.1)
    assert r.status_code == status, f"still {r.status_code} after {seconds} s: {r.text}"
    return r


def test_a_permission_taken_or_given_holds_in_both_processes_within_the_cache_time(stack: Cluster) -> None:
    """Beamline staff see the beamline's sessions through their permission (404 without it). Changed in the
    database, both processes follow once their cache time has passed; changed through one process's
    administration routes, that process follows at once and the other within its cache time."""
    who = uid()
    person = stack.commit(_person, who, factories.STAFF_PERMISSION)
    group = stack.commit(grant, person, factories.STAFF_PERMISSION)  # a second group giving it
    headers, path = bearer(log_in(stack, A, who)["token"]), f"/sessions/{stack.data.sessions['a']}"
    assert statuses(stack, path, headers) == [200, 200]  # each process has cached the permission now
    stack.commit(leave_groups, person)
    time.sleep(CACHE + 0.2)
    assert statuses(stack, path, headers) == [404, 404]
    manager, membership = stack.token("manager"), f"/admin/groups/{group}/person"
    added = httpx.post(stack.base(B) + membership, json={"personId": person}, headers=manager)
    assert added.status_code == 204, added.text
    assert get(stack, B, path, headers).status_code == 200
    answers_within(stack, A, path, headers, 200, CACHE + 1)
    removed = httpx.delete(f"{stack.base(A)}{membership}/{person}", headers=manager)
    assert removed.status_code == 204, removed.text
    assert get(stack, A, path, headers).status_code == 404
    answers_within(stack, B, path, headers, 404, CACHE + 1)


def test_an_api_key_revoked_through_one_process_is_refused_by_the_other_within_its_cache_time(
    stack: Cluster,
) -> None:
    manager = uid()
    stack.commit(_person, manager, "manage_api_keys", factories.STAFF_PERMISSION)
    body = {"name": "worker test", "login": f"staff_{TAG}", "permissions": [factories.STAFF_PERMISSION], "days": 1}
    made = httpx.post(f"{stack.base(A)}/api-keys", json=body, headers=bearer(log_in(stack, A, manager)["token"]))
    assert made.status_code == 201, made.text
    key, path = bearer(made.json()["key"]), f"/sessions/{stack.data.sessions['a']}"
    assert statuses(stack, path, key) == [200, 200]  # each process has cached the key now
    revoked = httpx.delete(
        f"{stack.base(A)}/api-keys/{made.json()['keyId']}", headers=bearer(log_in(stack, A, manager)["token"])
    )
    assert revoked.status_code == 200, revoked.text
    assert get(stack, A, path, key).status_code == 401  # the revoking process forgets it at once
    r = answers_within(stack, B, path, key, 401, CACHE + 1)
    assert "revoked" in r.json()["detail"]


def refresh(stack: Cluster, port: int, token: str) -> httpx.Response:
    return httpx.post(f"{stack.base(port)}/auth/refresh", json={"refreshToken": token}, timeout=30)


def test_a_refresh_token_rotated_on_one_process_is_replayed_on_the_other_only_within_the_grace(
    stack: Cluster,
) -> None:
    """A repeat within ISPYB_REFRESH_GRACE_SECONDS (MXCuBE's clients refreshing at once, here on two processes)
    gets the same successor; after it, the repeat revokes the family on every process."""
    first = log_in(stack, A, f"sci_a_{TAG}")["refreshToken"]
    rotated = refresh(stack, A, first)
    assert rotated.status_code == 200, rotated.text
    repeat = refresh(stack, B, first)
    assert repeat.status_code == 200 and repeat.json()["refreshToken"] == rotated.json()["refreshToken"], repeat.text
    with ThreadPoolExecutor(2) as pool:  # one token to both processes at the same moment, a few times over
        for token in [log_in(stack, B, f"sci_a_{TAG}")["refreshToken"] for _ in range(5)]:
            both = [f.result() for f in [pool.submit(refresh, stack, port, token) for port in (A, B)]]
            assert [r.status_code for r in both] == [200, 200], [r.text for r in both]
            assert both[0].json()["refreshToken"] == both[1].json()["refreshToken"]
    time.sleep(GRACE + 0.2)
    replayed = refresh(stack, B, first)
    assert replayed.status_code == 401 and "already used" in replayed.json()["detail"], replayed.text
    successor = refresh(stack, A, rotated.json()["refreshToken"])
    assert successor.status_code == 401 and "revoked" in successor.json()["detail"], successor.text


def sign(stack: Cluster, port: int, validity: str) -> str:
    r = httpx.post(f"{stack.base(port)}/user/sign", json={"validity": validity}, headers=stack.token("sci_a"))
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


def test_a_one_time_url_used_on_one_process_is_refused_on_the_other(stack: Cluster) -> None:
    """The collection has no frame: a caller let through is answered 404, a refused one 401."""
    path = f"/datacollections/images/diffraction/{stack.data.dcs['a0']}"
    token = sign(stack, A, API + path)
    assert get(stack, B, path, {}, onetime=token).status_code == 404
    again = get(stack, A, path, {}, onetime=token)
    assert again.status_code == 401 and "used already" in again.json()["detail"], again.text
    token = sign(stack, B, API + path)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda port: get(stack, port, path, {}, onetime=token).status_code, (A, B)))
    assert sorted(answers) == [401, 404]


def test_a_collection_added_to_a_running_session_counts_in_both_processes_at_once(stack: Cluster) -> None:
    end = local_now() + timedelta(days=1)
    group = stack.commit(factories.add_session_with_group, stack.data.persons["sci_a"], uid()[3:9], end, True)
    session, _ = stack.commit(factories.add_collection, group)
    headers, path = stack.token("admin"), f"/sessions/{session}"

    def counts() -> list[int]:
        return [get(stack, port, path, headers).json()["_metadata"]["datacollections"] for port in (A, B)]

    assert counts() == [1, 1]
    stack.commit(factories.add_collection, group)
    assert counts() == [2, 2]


def test_two_workers_behind_one_port_answer_alike_and_write_once(stack: Cluster) -> None:
    """``--workers 2``: reads on fresh connections (so either worker may take each) all succeed and agree, and
    one keyed write sent again and again writes one row."""
    headers, path = stack.token("staff"), f"/sessions/{stack.data.sessions['a']}"
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: get(stack, MANY, path, headers), range(40)))
    assert [r.status_code for r in answers] == [200] * 40
    assert len({r.content for r in answers}) == 1
    check_one_write(stack, [MANY] * 8, uid(), uid())


def worker_sockets(port: int) -> dict[int, int]:
    """The processes listening on ``port``, each with its count of listening sockets."""
    return dict(sockets_held(port, LISTENING))


def parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_each_of_several_workers_listens_on_a_socket_of_its_own(stack: Cluster) -> None:
    """``serve --workers 2 --socket-per-worker``: two worker processes of the server each listen on a socket of
    their own on its port."""
    supervisor = stack.servers[MANY].process
    assert supervisor is not None
    listening = worker_sockets(MANY)
    assert sorted(listening.values()) == [1, 1], listening
    assert {parent(pid) for pid in listening} == {supervisor.pid}


def test_a_burst_of_connections_is_spread_over_both_workers(stack: Cluster) -> None:
    """32 connections opened at once, as a load tool opens them: over one shared socket, the worker awake first may
    accept all 32; over a socket each, the kernel spreads them by their addresses (a worker holding fewer than 4
    of 32 has odds of about 1 in 400,000)."""
    ready, answered, release = threading.Barrier(33, timeout=60), threading.Barrier(33, timeout=60), threading.Event()

    def connect() -> int:
        with httpx.Client(base_url=stack.base(MANY), timeout=30) as client:
            ready.wait()
            status = client.get("/health").status_code
            answered.wait()
            release.wait(60)
            return status

    with ThreadPoolExecutor(32) as pool:
        statuses = [pool.submit(connect) for _ in range(32)]
        ready.wait()
        answered.wait()
        held = sockets_held(MANY, ESTABLISHED)
        release.set()
        assert [s.result() for s in statuses] == [200] * 32
    assert set(held) == set(worker_sockets(MANY)), held
    assert sum(held.values()) == 32 and min(held.values()) >= 4, held


def test_a_killed_worker_is_replaced_and_the_port_answers_throughout(stack: Cluster) -> None:
    """A worker killed outright: its socket goes with it, so new connections reach the other worker; the
    supervisor starts another, which listens on a new socket of its own."""
    victim = min(worker_sockets(MANY))
    os.kill(victim, signal.SIGKILL)
    until(lambda: victim not in worker_sockets(MANY), "the killed worker's socket to close")
    assert [get(stack, MANY, "/health", {}).status_code for _ in range(10)] == [200] * 10
    until(lambda: len(worker_sockets(MANY)) == 2, "a worker to replace it")
    assert victim not in worker_sockets(MANY)
    assert [get(stack, MANY, "/health", {}).status_code for _ in range(10)] == [200] * 10


def test_a_second_server_on_the_port_is_refused(stack: Cluster) -> None:
    """Another ``serve --workers 2`` on a port that ours listens on exits at once, as uvicorn does on a taken port,
    instead of joining the sockets there and taking part of the connections."""
    before = worker_sockets(MANY)
    second = subprocess.run(serve(MANY, 2), env=stack.env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert second.returncode == STARTUP_FAILURE, second
    assert "Address already in use" in second.stderr
    assert worker_sockets(MANY) == before


def test_sigterm_stops_every_worker_and_frees_the_port(spare: int, stack: Cluster, tmp_path: Path) -> None:
    """SIGTERM to the supervisor: it stops its workers, exits 0, and leaves no socket bound to the port."""
    server = Server(spare, 2, tmp_path / "serve.log")
    server.start(stack.env)
    try:
        server.wait_healthy(time.monotonic() + 90)
        workers = worker_sockets(spare)
    finally:
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(30) == 0, server.log.read_text()
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    with socket.socket() as probe:  # connections the workers closed may linger in TIME_WAIT, as after any server
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", spare))
        probe.listen()  # the bind is refused while any socket still listens on the port


def until(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.1)


def _bound_beside(port: int, taken: list[socket.socket]) -> bool:
    """Whether a socket bound to ``port`` with ``SO_REUSEADDR`` (appended to ``taken``) could be had: a killed
    process's listening socket can outlive its file descriptors for a moment, until the kernel tears it down."""
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        other.bind(("127.0.0.1", port))
    except OSError as exc:
        other.close()
        if exc.errno != errno.EADDRINUSE:
            raise
        return False
    taken.append(other)
    return True


def test_a_port_share_holds_the_port_takes_no_connection_and_pickles_into_a_socket_bound_alike() -> None:
    """The supervisor's socket: a plain bind of its port is refused, a connection to it is refused (it never
    listens, so it takes none of the workers'), and a worker unpickles it into a TCP socket on the same port."""
    with PortShare("127.0.0.1", 0) as share:
        address = share.getsockname()
        with socket.socket() as plain, pytest.raises(OSError, match="in use"):
            plain.bind(address)
        with socket.socket() as client:
            assert client.connect_ex(address) == errno.ECONNREFUSED
        with pickle.loads(ForkingPickler.dumps(share)) as own, socket.socket() as client:
            assert (own.getsockname(), own.proto) == (address, socket.IPPROTO_TCP)
            own.listen()
            assert client.connect_ex(address) == 0


def test_a_port_taken_while_no_worker_listens_stops_the_server_instead_of_restarting_workers(
    spare: int, stack: Cluster, tmp_path: Path
) -> None:
    """Both workers dead and another program listening on the port before they are replaced (bound with
    ``SO_REUSEADDR``, as most servers bind): the replacement cannot bind, and the supervisor stops with uvicorn's
    startup-failure status instead of starting workers that fail, over and over."""
    server = Server(spare, 2, tmp_path / "serve.log")
    server.start(stack.env)
    try:
        server.wait_healthy(time.monotonic() + 90)
        assert server.process is not None
        server.process.send_signal(signal.SIGSTOP)  # no replacement before the other program listens
        for worker in worker_sockets(spare):
            os.kill(worker, signal.SIGKILL)
        until(lambda: not worker_sockets(spare), "the killed workers' sockets to close")
        taken: list[socket.socket] = []
        until(lambda: _bound_beside(spare, taken), "the kernel to tear the killed workers' listening sockets down")
        with taken[0] as other:
            other.listen()
            server.process.send_signal(signal.SIGCONT)
            # a replacement that dies while the supervisor pings it is seen when the ping times out (30 s)
            assert server.process.wait(90) == STARTUP_FAILURE
        assert "could not bind" in server.log.read_text()
    finally:
        server.stop()
        server.wait_stopped()


def test_without_socket_per_worker_the_workers_share_the_supervisor_s_socket(
    spare: int, stack: Cluster, tmp_path: Path
) -> None:
    """``serve --workers 2``: uvicorn's way, one listening socket that the supervisor and both workers hold."""
    server = Server(spare, 2, tmp_path / "serve.log", socket_per_worker=False)
    server.start(stack.env)
    try:
        server.wait_healthy(time.monotonic() + 90)
        assert server.process is not None
        listening = sockets_held(spare, LISTENING)
        assert sorted(listening.values()) == [1, 1, 1] and server.process.pid in listening, listening
        assert len(socket_inodes(spare, LISTENING)) == 1  # the three hold one socket
    finally:
        server.stop()
        server.wait_stopped()


def test_a_second_run_started_while_the_first_starts_is_refused(spare: int, stack: Cluster, tmp_path: Path) -> None:
    """A second ``serve --socket-per-worker`` on the port while the first's workers are still starting (no socket
    listens yet, so a bind probe alone would let it join the first's sockets): it exits 3, and the first serves
    with workers of its own only."""
    first = Server(spare, 2, tmp_path / "first.log")
    first.start(stack.env)
    try:
        until(lambda: f"@ispyb-hybrid serve --socket-per-worker: port {spare}" in Path("/proc/net/unix").read_text(),
              "the first run's lock")  # fmt: skip
        second = subprocess.run(serve(spare, 2), env=stack.env, capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert second.returncode == STARTUP_FAILURE, second
        assert "Address already in use" in second.stderr
        first.wait_healthy(time.monotonic() + 90)
        assert first.process is not None
        assert {parent(pid) for pid in worker_sockets(spare)} == {first.process.pid}
    finally:
        first.stop()
        first.wait_stopped()


def test_settings_that_do_not_validate_stop_the_server_before_any_worker_starts(spare: int, stack: Cluster) -> None:
    """A bad setting with two workers: exit 3 at once with the setting named, not workers started and dying over
    and over (uvicorn's supervisor restarts a worker whose import fails)."""
    env = stack.env | {"ISPYB_MODE": "bogus"}
    run = subprocess.run(serve(spare, 2), env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode == STARTUP_FAILURE, run
    assert (
        "Settings refused" in run.stdout and "mode\n  Input should be 'embedded', 'dev' or 'production'" in run.stdout
    )
    assert "Child process" not in run.stderr
