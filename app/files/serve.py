"""Files named by the database, served: checked (``app.files.paths``), opened, stat'ed and read on the file
threads (``app.files.pool``), streamed with Starlette's ``FileResponse`` (Range: 206, 416, multipart ranges;
ETag and Last-Modified), whose reads go through those threads too."""

import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from mimetypes import guess_type
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from fastapi import Request, Response
from starlette.responses import FileResponse
from starlette.types import Receive, Scope, Send

from app.files import paths
from app.files.pool import FilePool
from schemas.errors import FilesUnavailable, NotFound

if TYPE_CHECKING:  # app.state imports app.files.pool
    from app.state import AppState

logger = logging.getLogger(__name__)
T = TypeVar("T")
#: the login of the caller of a file route (set by ``app.auth.signed.FileCallerDep``), for the refusals' log
caller_login: ContextVar[str | None] = ContextVar("caller_login", default=None)


def download_path(request: Request, listing: str, item_id: int) -> str:
    """Where one listed file is downloaded: the path of the ``listing`` route, then the item's id."""
    return f"{request.url_for(listing).path}/{item_id}"


async def in_file_thread(state: "AppState", fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on a file thread, bounded by ISPYB_FILE_TIMEOUT (then ``FilesUnavailable``, 503)."""
    return await state.files.run(fn, *args)


async def _checked(state: "AppState", stored: str | None, work: Callable[[str, Sequence[str]], T]) -> T:
    """``work(local path, roots)`` on a file thread for a stored path that passes the lexical checks; 404
    (logged with the caller's login) for a refusal or a missing file, 503 for a file system in trouble."""
    s = state.settings
    try:
        local = paths.lexical(stored, s.data_path_map)
        return await state.files.run(work, local, s.data_roots)
    except paths.Refused as exc:
        logger.warning("file refused to %s: %r: %s", caller_login.get() or "?", stored, exc)
    except paths.Missing as exc:
        logger.info("file not found for %s: %r: %s", caller_login.get() or "?", stored, exc)
    except OSError as exc:
        logger.warning("file system error for %s: %r: %s", caller_login.get() or "?", stored, exc)
        raise FilesUnavailable(f"The file system failed: {exc.strerror or exc}") from None
    raise NotFound("File not found")


async def local_path(state: "AppState", stored: str | None) -> Path:
    """The resolved local path of a servable regular file (for readers such as fabio or h5py, which must then
    read it through ``in_file_thread``); 404 or 503 as ``file_response``."""
    return Path(await _checked(state, stored, paths.stat_regular))


async def available(state: "AppState", stored: Sequence[str | None]) -> list[bool]:
    """Which of these stored paths could be served, in one file-thread call; all False while the file system
    does not answer (a list still renders)."""

    def each(values: Sequence[str | None]) -> list[bool]:
        found = []
        for value in values:
            try:
                local = paths.lexical(value, state.settings.data_path_map)
                found.append(bool(paths.stat_regular(local, state.settings.data_roots)))
            except (paths.Refused, paths.Missing, OSError):
                found.append(False)
        return found

    if not state.settings.data_roots or not any(stored):  # nothing could be served: no file-thread call
        return [False] * len(stored)
    try:
        return await state.files.run(each, stored)
    except FilesUnavailable:
        return [False] * len(stored)


async def file_response(
    state: "AppState",
    request: Request,
    stored: str | None,
    *,
    media_type: str | None = None,
    filename: str | None = None,
) -> Response:
    """A stored path as a streamed response (Range requests, ETag, 304 on a matching If-None-Match); 404 when
    nothing is stored, the path is refused (outside ISPYB_DATA_ROOTS after ISPYB_DATA_PATH_MAP, ``..``, a
    symlink leading out, not a regular file) or missing; 503 when the file system does not answer in time."""
    opened = await _checked(state, stored, paths.open_regular)
    media_type = media_type or guess_type(filename or stored or "")[0] or guess_type(opened.path)[0]
    response = PooledFileResponse(state.files, opened, media_type=media_type, filename=filename)
    if request.headers.get("if-none-match") == response.headers["etag"]:
        await response.close()
        kept = {k: response.headers[k] for k in ("etag", "last-modified")}
        return Response(status_code=304, headers=kept)
    return response


class _PooledReader:
    """The reads ``FileResponse`` makes, as ``pread`` calls on the file threads."""

    def __init__(self, pool: FilePool, fd: int) -> None:
        self.pool, self.fd, self.offset = pool, fd, 0

    async def seek(self, offset: int) -> None:
        self.offset = offset

    async def read(self, size: int) -> bytes:
        chunk = await self.pool.run(os.pread, self.fd, size, self.offset)
        self.offset += len(chunk)
        return chunk


class PooledFileResponse(FileResponse):
    """Starlette's ``FileResponse`` on an opened descriptor: stat'ed already, read through the file threads,
    never handed to the server as a path (``http.response.pathsend`` would read it on the event loop's side)."""

    chunk_size = 256 * 1024

    def __init__(self, pool: FilePool, opened: paths.Opened, media_type: str | None, filename: str | None) -> None:
        super().__init__(opened.path, stat_result=opened.stat, media_type=media_type, filename=filename)
        self.pool, self.fd = pool, opened.fd

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extensions = {k: v for k, v in scope.get("extensions", {}).items() if k != "http.response.pathsend"}
        try:
            await super().__call__({**scope, "extensions": extensions}, receive, send)
        except FilesUnavailable:  # a read hung: the status is sent, the server cuts the answer short
            logger.warning("file %r stopped answering within a transfer for %s", self.path, caller_login.get() or "?")
        finally:
            await self.close()

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[_PooledReader]:  # type: ignore[override]
        yield _PooledReader(self.pool, self.fd)

    async def close(self) -> None:
        """Close the descriptor on a file thread (a hung mount can hang ``close`` too), once."""
        fd, self.fd = self.fd, -1
        if fd < 0:
            return
        with anyio.CancelScope(shield=True):
            try:
                await self.pool.run(os.close, fd)
            except FilesUnavailable:
                threading.Thread(target=os.close, args=(fd,), daemon=True).start()
