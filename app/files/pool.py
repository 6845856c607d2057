"""File-system calls on threads of their own, each bounded in time: a hung mount ties up these threads only.

A call that outlives ``timeout`` answers ``FilesUnavailable`` (503) at once; its thread stays held until the call
returns (nothing can interrupt a blocked ``open``), so a pool whose every thread is held refuses new calls at once
instead of queueing them. Threads are daemons: a call blocked for ever does not hold the process at exit."""

import asyncio
import logging
import queue
import reprlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from schemas.errors import FilesUnavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(eq=False)
class _Call:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    submitted: bool = field(default=False)
    finished: bool = field(default=False)
    #: the caller gave up (timed out or was cancelled) first: the call holds its thread until it returns
    abandoned: bool = field(default=False)


class FilePool:
    """``threads`` daemon threads started on first use; ``run`` waits at most ``timeout`` seconds in all."""

    def __init__(self, threads: int, timeout: float) -> None:
        self.threads, self.timeout = threads, timeout
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._slots = asyncio.Semaphore(threads)
        #: calls whose caller gave up and that have not returned yet (read and written on the event loop only)
        self.stuck = 0

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a file thread; ``FilesUnavailable`` when it (with the wait for a thread) takes longer
        than ``timeout``, or at once when every thread is held by a call that already did."""
        if self.stuck >= self.threads:
            raise FilesUnavailable(f"All {self.threads} file threads wait on a file system that does not answer")
        loop = asyncio.get_running_loop()
        call = _Call(fn, args, loop, loop.create_future())
        try:
            async with asyncio.timeout(self.timeout):
                await self._slots.acquire()
                try:
                    self._start()
                    self._calls.put(call)
                    call.submitted = True
                except BaseException:
                    self._slots.release()
                    raise
                result: T = await asyncio.shield(call.future)
                return result
        except TimeoutError:
            self._abandon(call)
            name = getattr(fn, "__name__", repr(fn))
            logger.warning("file-system call %s%s did not answer within %ss", name, reprlib.repr(args), self.timeout)
            raise FilesUnavailable() from None
        except asyncio.CancelledError:
            self._abandon(call)
            raise

    def _abandon(self, call: _Call) -> None:
        if call.submitted and not call.finished:
            call.abandoned = True
            self.stuck += 1

    def close(self) -> None:
        """Let idle threads end (held ones end when their call returns)."""
        for _ in self._workers:
            self._calls.put(None)
        self._workers.clear()

    def _start(self) -> None:
        while len(self._workers) < self.threads:
            worker = threading.Thread(target=self._work, name=f"ispyb-files-{len(self._workers)}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def _work(self) -> None:
        while (call := self._calls.get()) is not None:
            try:
                outcome: tuple[Any, BaseException | None] = (call.fn(*call.args), None)
            except BaseException as exc:  # handed to the caller, as the call's own outcome
                outcome = (None, exc)
            try:
                call.loop.call_soon_threadsafe(self._done, call, *outcome)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

    def _done(self, call: _Call, result: Any, error: BaseException | None) -> None:
        """On the event loop: hand the outcome over (or drop it, the caller gone) and free the thread."""
        call.finished = True
        if call.abandoned:
            self.stuck -= 1
        elif not call.future.done():
            if error is None:
                call.future.set_result(result)
            else:
                call.future.set_exception(error)
        self._slots.release()
