"""Telling beamline software which keys of its body were ignored: a ``Warning`` header and a log line."""

import logging

from fastapi import Response

from schemas.lenient import Lenient

log = logging.getLogger("ispyb.acquisition")
#: at most this many key names go into the header (the log has them all)
MAX_NAMED = 50


def report_ignored(response: Response, body: Lenient, route: str) -> None:
    """Name the keys of ``body`` that no column took, in a ``Warning: 299`` header and the log."""
    keys = body.ignored()
    if not keys:
        return
    log.info("%s ignored keys: %s", route, ", ".join(keys))
    named = ", ".join(keys[:MAX_NAMED]) + (f" and {len(keys) - MAX_NAMED} more" if len(keys) > MAX_NAMED else "")
    text = f"ignored keys: {named}".replace('"', "'")
    response.headers["Warning"] = f'299 ispyb "{text.encode("ascii", "replace").decode()}"'
