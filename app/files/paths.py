"""Where a path stored in the database is on this host, and whether it may be served: inside a data root once
mapped and resolved (symlinks and roots alike), no ``..``, a regular file.

``lexical`` runs on the event loop and touches no file system; ``resolved`` and what uses it run on a file
thread (``app.files.pool``): every call in them may hang on a dead mount."""

import errno
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote


class Refused(Exception):
    """The path may not be served (outside the roots, ``..``, a symlink leading out, not a regular file)."""


class Missing(Exception):
    """Nothing is there (or it cannot be read): a plain 404."""


@dataclass(frozen=True)
class Opened:
    """A regular file opened for reading: its descriptor, its status and its resolved path."""

    fd: int
    stat: os.stat_result
    path: str


def _climbs(path: str) -> bool:
    """Whether a path has a ``..`` segment, as written or percent-encoded (once or more)."""
    seen = path
    for _ in range(3):
        if ".." in seen.replace("\\", "/").split("/"):
            return True
        decoded = unquote(seen)
        if decoded == seen:
            return False
        seen = decoded
    return True  # encoded three times over: nobody stores such a path


def _within(path: str, root: str) -> bool:
    top = root.rstrip("/")
    return path == top or path.startswith(top + "/")


def mapped(stored: str, path_map: Mapping[str, str]) -> str:
    """The stored path with its longest mapped prefix (ISPYB_DATA_PATH_MAP) replaced by this host's."""
    prefixes = [p for p in path_map if _within(stored, p)]
    if not prefixes:
        return stored
    prefix = max(prefixes, key=lambda p: len(p.rstrip("/")))
    return path_map[prefix].rstrip("/") + stored[len(prefix.rstrip("/")) :]


def lexical(stored: str | None, path_map: Mapping[str, str]) -> str:
    """The local path a stored value names, checked without touching the file system: ``Missing`` for nothing
    stored, ``Refused`` for ``..`` (raw or encoded, stored or brought by the map), NUL or a relative path."""
    if not stored:
        raise Missing("no path is stored")
    if "\x00" in stored or _climbs(stored):
        raise Refused("the stored path has `..` or NUL")
    local = mapped(stored, path_map)
    if _climbs(local):
        raise Refused(f"the path map makes it {local!r}, with `..`")
    if not local.startswith("/"):
        raise Refused(f"{local!r} is not absolute")
    return str(PurePosixPath(local))


def resolved(local: str, roots: Sequence[str]) -> str:
    """On a file thread: the path, under a root as configured or as resolved (a root may be a symlink), with every
    symlink resolved, which must still be inside a resolved root. Nothing outside the roots is looked at."""
    real_roots = [os.path.realpath(root) for root in roots]
    if not any(_within(local, str(PurePosixPath(root))) for root in [*roots, *real_roots]):
        raise Refused(f"{local!r} is under none of ISPYB_DATA_ROOTS")
    try:
        real = os.path.realpath(local, strict=True)
    except FileNotFoundError as exc:
        raise Missing(f"{local!r} does not exist") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused(f"{local!r} is a symlink loop") from exc
        if exc.errno in (errno.ENOTDIR, errno.EACCES, errno.ENAMETOOLONG):
            raise Missing(f"{local!r}: {exc.strerror}") from exc
        raise
    if not any(_within(real, root) for root in real_roots):
        raise Refused(f"{local!r} resolves to {real!r}, outside ISPYB_DATA_ROOTS")
    return real


def _regular(path: str, status: os.stat_result) -> None:
    if not stat.S_ISREG(status.st_mode):
        raise Refused(f"{path!r} is not a regular file")


def stat_regular(local: str, roots: Sequence[str]) -> str:
    """On a file thread: the resolved path of a regular file inside the roots (a FIFO is refused unopened)."""
    real = resolved(local, roots)
    _regular(real, os.stat(real))
    return real


def open_regular(local: str, roots: Sequence[str]) -> Opened:
    """On a file thread: the file opened for reading. ``O_NONBLOCK`` keeps a FIFO from blocking the open,
    ``O_NOFOLLOW`` refuses a last component swapped for a symlink since it was resolved."""
    real = resolved(local, roots)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise Missing(f"{real!r} is gone") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused(f"{real!r} became a symlink") from exc
        if exc.errno in (errno.EACCES, errno.ENXIO, errno.EISDIR):
            raise Missing(f"{real!r}: {exc.strerror}") from exc
        raise
    try:
        status = os.fstat(fd)
        _regular(real, status)
    except BaseException:
        os.close(fd)
        raise
    return Opened(fd, status, real)
