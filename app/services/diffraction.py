"""A data collection's diffraction frames for py-ispyb's ``/data/images*``: located from its row, read and decoded
on the file threads (bounded by ISPYB_FILE_TIMEOUT), kept decoded in a per-worker LRU cache of
ISPYB_IMAGE_CACHE_BYTES (with the pictures rendered from them), and computed once when requests for one frame
arrive together (the image viewer asks for the pixels, the header and the histogram at once).

Threads, not processes: fabio's and HDF5's decompression and numpy release the GIL, so the event loop's lag while
two threads decode a Pilatus 6M CBF or an Eiger 16M HDF5 frame stays that of an idle loop on this machine, and a
process pool would copy every decoded frame (72 MB for an Eiger 16M) back through a pipe."""

import asyncio
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Literal

from app.files import in_file_thread, local_path
from app.services import diffraction_files as files
from app.services.diffraction_files import Frame, Rendering
from app.state import AppState
from relational.frames import FrameSource, frame_source
from relational.scope import Scope
from schemas.errors import FilesUnavailable, NotFound

#: frames decoded at once per worker (each holds a few times its pixels in memory while it is decoded); a decode
#: waits ISPYB_FILE_TIMEOUT at most for its turn, then answers 503
DECODERS = 2


class FrameCache:
    """Decoded frames and rendered pictures, least recently used first out, ``capacity`` bytes in all; one
    computation per key at a time. ``reads`` counts the frames decoded from files (misses)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self.reads = 0
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._pending: dict[Hashable, asyncio.Task[Any]] = {}
        self.decoders = asyncio.Semaphore(DECODERS)

    def get(self, key: Hashable) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        if size > self.capacity or key in self._entries:
            return
        self._entries[key] = (value, size)
        self.used += size
        while self.used > self.capacity:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.used -= dropped

    async def through(self, key: Hashable, make: Callable[[], Awaitable[Any]], size: Callable[[Any], int]) -> Any:
        """The cached value of ``key``, or ``make()``'s, shared with every caller asking meanwhile (a caller that
        goes away does not stop it for the others); an error is not cached."""
        found = self.get(key)
        if found is not None:
            return found
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(make())
            self._pending[key] = task
            task.add_done_callback(lambda done: self._settle(key, done, size))
        return await asyncio.shield(task)

    def _settle(self, key: Hashable, task: "asyncio.Task[Any]", size: Callable[[Any], int]) -> None:
        del self._pending[key]
        if not task.cancelled() and task.exception() is None:  # exception() also marks the error as seen
            self.put(key, task.result(), size(task.result()))


def _stored(source: FrameSource, number: int) -> tuple[str, int, bool]:
    """The stored path of image ``number`` (1-based), the frame's number in that file, and whether it is HDF5."""
    if source.numberOfImages is not None and number > source.numberOfImages:
        raise NotFound(f"Image {number} of a collection of {source.numberOfImages}")
    if not source.imageDirectory or not source.fileTemplate:
        raise NotFound("The data collection names no image files")
    if files.is_hdf5(source.fileTemplate):
        return os.path.join(source.imageDirectory, source.fileTemplate), number, True
    on_disk = (source.startImageNumber if source.startImageNumber is not None else 1) + number - 1
    return os.path.join(source.imageDirectory, files.file_name(source.fileTemplate, on_disk)), on_disk, False


async def _located(state: AppState, scope: Scope, dataCollectionId: int, number: int) -> tuple[str, int, bool]:
    """Frame ``number`` of a visible collection: stored path, number in the file, HDF5 or not (404 otherwise).
    The SQL read has a session of its own, handed back before any file is touched (a hung mount must not hold
    database connections)."""
    async with state.database.read_sessions() as db:
        source = await frame_source(db, scope, dataCollectionId)
    if source is None:
        raise NotFound(f"Data collection {dataCollectionId} not found")
    return _stored(source, number)


async def frame(state: AppState, cache: FrameCache, scope: Scope, dataCollectionId: int, number: int) -> Frame:
    """Image ``number`` of a visible collection, decoded (from the cache while its file is unchanged)."""
    found, _ = await _frame(state, cache, scope, dataCollectionId, number)
    return found


async def _frame(
    state: AppState, cache: FrameCache, scope: Scope, dataCollectionId: int, number: int
) -> tuple[Frame, Hashable]:
    stored, in_file, hdf5 = await _located(state, scope, dataCollectionId, number)
    path = await local_path(state, stored)
    status = await in_file_thread(state, os.stat, path)
    key = (str(path), status.st_mtime_ns, status.st_size, in_file)

    async def decode() -> Frame:
        try:
            async with asyncio.timeout(state.settings.file_timeout):
                await cache.decoders.acquire()
        except TimeoutError:
            raise FilesUnavailable(f"All {DECODERS} frame decoders are busy; try again shortly") from None
        try:
            cache.reads += 1
            found: Frame = await in_file_thread(state, files.read, path, in_file, hdf5, state.settings.data_roots)
            return found
        finally:
            cache.decoders.release()

    found: Frame = await cache.through(key, decode, lambda f: len(f.pixels))
    return found, key


async def image(
    state: AppState,
    cache: FrameCache,
    scope: Scope,
    dataCollectionId: int,
    number: int,
    kind: Rendering | Literal["raw"],
    size: int,
) -> bytes:
    """The frame's pixels as py-ispyb sends them (``raw``), or rendered as a PNG or JPEG at most ``size`` wide."""
    found, key = await _frame(state, cache, scope, dataCollectionId, number)
    if kind == "raw":
        return found.pixels

    async def draw() -> bytes:
        return await asyncio.to_thread(files.render, found, kind, size)

    picture: bytes = await cache.through((key, kind, size), draw, len)
    return picture
