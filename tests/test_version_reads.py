"""How a worker reads sessions' versions (``documents.versions.Reader``): a read asked for while one is in flight
waits for the next, which serves every session then waiting in one round trip, and sees what was set before it
was asked for; a failure reaches its callers only; a caller cancelled leaves the read to the others."""

import asyncio
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from documents.store import StoreUnavailable
from documents.versions import Reader


class Store:
    """A fake ``session_versions`` collection whose reads wait for ``release`` and record what they asked for."""

    def __init__(self) -> None:
        self.docs: dict[int, dict[str, Any]] = {}
        self.asked: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail: Exception | None = None

    async def _answer(self, ids: list[int]) -> list[dict[str, Any]]:
        snapshot = [dict(self.docs[i]) for i in ids if i in self.docs]  # what the store holds when asked
        self.asked.append(ids)
        await self.release.wait()
        self.release.clear()
        if self.fail is not None:
            fail, self.fail = self.fail, None
            raise fail
        return snapshot

    async def find_one(self, query: dict[str, int]) -> dict[str, Any] | None:
        found = await self._answer([query["_id"]])
        return found[0] if found else None

    def find(self, query: dict[str, dict[str, list[int]]]) -> Any:
        async def rows() -> Any:
            for doc in await self._answer(query["_id"]["$in"]):
                yield doc

        return rows()


class Db:
    def __init__(self) -> None:
        self.session_versions = Store()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_callers_waiting_on_a_read_in_flight_share_the_next_which_sees_what_was_set_meanwhile() -> None:
    async def run() -> None:
        db, reader = Db(), Reader()
        store = db.session_versions
        store.docs[1] = {"_id": 1, "results": "r1"}
        first = asyncio.ensure_future(reader.current(db, 1))  # type: ignore[arg-type]
        await settle()
        store.docs[1] = {"_id": 1, "results": "r2", "metrics": "m2"}  # set after the first read was sent
        later = [asyncio.ensure_future(reader.current(db, sid)) for sid in (1, 2, 1, 2)]  # type: ignore[arg-type]
        await settle()
        assert store.asked == [[1]]
        store.release.set()
        assert await first == {"metrics": "", "results": "r1"}
        await settle()
        assert store.asked == [[1], [1, 2]]  # one round trip for the four
        store.release.set()
        answers = await asyncio.gather(*later)
        assert answers[0] == answers[2] == {"metrics": "m2", "results": "r2"}
        assert answers[1] == answers[3] == {"metrics": "", "results": ""}

    asyncio.run(run())


def test_a_failed_read_reaches_its_callers_only_and_the_next_read_is_made() -> None:
    async def run() -> None:
        db, reader = Db(), Reader()
        store = db.session_versions
        store.docs[3] = {"_id": 3, "metrics": "m"}
        store.fail = AutoReconnect("gone")
        failing = asyncio.ensure_future(reader.current(db, 3))  # type: ignore[arg-type]
        await settle()
        waiting = asyncio.ensure_future(reader.current(db, 3))  # type: ignore[arg-type]
        await settle()
        store.release.set()
        with pytest.raises(StoreUnavailable):
            await failing
        await settle()
        store.release.set()
        assert await waiting == {"metrics": "m", "results": ""}

    asyncio.run(run())


def test_a_cancelled_caller_leaves_the_read_to_the_others_and_a_stopped_reader_hangs_nobody() -> None:
    async def run() -> None:
        db, reader = Db(), Reader()
        store = db.session_versions
        store.docs[4] = {"_id": 4, "results": "r"}
        gone, kept = (asyncio.ensure_future(reader.current(db, 4)) for _ in range(2))  # type: ignore[arg-type]
        await settle()
        gone.cancel()
        await settle()
        store.release.set()
        assert await kept == {"metrics": "", "results": "r"}
        assert store.asked == [[4]]

        first = asyncio.ensure_future(reader.current(db, 4))  # type: ignore[arg-type]
        await settle()
        second = asyncio.ensure_future(reader.current(db, 5))  # type: ignore[arg-type]
        await settle()
        assert reader._reading is not None
        reader._reading.cancel()  # the worker stops with a read in flight and a caller waiting for the next
        for caller in (first, second):
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(caller, 1)
        assert reader._reading is None

    asyncio.run(run())
