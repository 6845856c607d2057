"""Telling beamline software which keys of its body were ignored: a ``Warning`` header and a log line."""

import logging
import re
from collections.abc import Callable

from fastapi import Response

from schemas.lenient import Lenient

log = logging.getLogger("ispyb.acquisition")
#: at most this many key names go into the header (and ten times as many into the log), each cut to so many
#: characters
MAX_NAMED = 50
MAX_NAME = 80
#: what a header value cannot carry (uvicorn drops the connection on a control character, after the commit)
_UNSAFE = re.compile(r'[^\x20-\x7e]|"')


def _shown(key: str) -> str:
    """A key name fit for a header: printable ASCII (others become ``?``, quotes ``'``), at most ``MAX_NAME``."""
    safe = _UNSAFE.sub(lambda m: "'" if m.group() == '"' else "?", key)
    return safe if len(safe) <= MAX_NAME else safe[: MAX_NAME - 3] + "..."


def report_ignored(response: Response, body: Lenient, route: str) -> None:
    """Name the keys of ``body`` that no column took, in a ``Warning: 299`` header and the log."""
    keys = body.ignored()
    if not keys:
        return
    log.info("%s ignored keys: %s", route, _listed(keys, 10 * MAX_NAMED, repr))
    response.headers["Warning"] = f'299 ispyb "ignored keys: {_listed(keys, MAX_NAMED, _shown)}"'


def _listed(keys: list[str], most: int, shown: Callable[[str], str]) -> str:
    """The first ``most`` keys, each shown (and cut), then how many more there are."""
    named = ", ".join(shown(key[: 4 * MAX_NAME]) for key in keys[:most])
    return named + (f" and {len(keys) - most} more" if len(keys) > most else "")
