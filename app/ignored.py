"""Telling beamline software which keys of its body were ignored: a ``Warning`` header and a log line."""

import logging
import re

from fastapi import Response

from schemas.lenient import Lenient

log = logging.getLogger("ispyb.acquisition")
#: at most this many key names go into the header (the log has them all), each cut to so many characters
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
    log.info("%s ignored keys: %s", route, ", ".join(map(repr, keys)))
    shown = [_shown(key) for key in keys[:MAX_NAMED]]
    named = ", ".join(shown) + (f" and {len(keys) - MAX_NAMED} more" if len(keys) > MAX_NAMED else "")
    response.headers["Warning"] = f'299 ispyb "ignored keys: {named}"'
