"""Session statistics that read files: the error messages of ``/stats/errors``, the last line of each failed
collection's error log (py-ispyb's), read on the file threads and bounded by ISPYB_FILE_TIMEOUT."""

import logging
import os
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any

from app.files import in_file_thread, paths
from app.state import AppState
from relational import stats
from relational.flavour import SchemaInfo
from relational.read_sessions import ReadSession
from relational.scope import Scope
from schemas.errors import FilesUnavailable
from schemas.stats import StatsFilter

logger = logging.getLogger(__name__)
#: error logs read per request (the newest), bytes read from each one's end, characters kept of a message
MAX_LOGS, TAIL_BYTES, MAX_MESSAGE = 200, 4096, 200
#: py-ispyb's rule: a message this similar to one already seen counts as that one
SIMILAR = 0.8


def _last_line(local: str, roots: Sequence[str]) -> str | None:
    """On a file thread: the last non-empty line of a log inside the data roots, None when it cannot be read."""
    try:
        opened = paths.open_regular(local, roots)
    except (paths.Refused, paths.Missing, OSError):
        return None
    try:
        tail = os.pread(opened.fd, TAIL_BYTES, max(opened.stat.st_size - TAIL_BYTES, 0))
    except OSError:
        return None
    finally:
        os.close(opened.fd)
    lines = [line.strip() for line in tail.decode("utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1][:MAX_MESSAGE] if lines else None


def _messages(logs: Sequence[tuple[str, str]], roots: Sequence[str]) -> dict[str, dict[str, int]]:
    """On a file thread: per experiment type, each message and how often it (or one like it) is a last line."""
    found: dict[str, dict[str, int]] = {}
    for kind, local in logs:
        line = _last_line(local, roots)
        if line is None:
            continue
        seen = found.setdefault(kind, {})
        if line not in seen:
            line = next((m for m in seen if SequenceMatcher(None, line, m).ratio() > SIMILAR), line)
        seen[line] = seen.get(line, 0) + 1
    return found


async def errors(
    state: AppState, db: ReadSession, scope: Scope, schema: SchemaInfo, given: StatsFilter
) -> dict[str, Any]:
    """py-ispyb's errors with their messages, most frequent first; without messages while the files do not answer."""
    answer = await stats.get_errors(db, scope, schema, given)
    logs = []
    for kind, stored in await stats.failed_logs(db, scope, schema, given, MAX_LOGS):
        try:
            logs.append((kind, paths.lexical(stored, state.settings.data_path_map)))
        except (paths.Refused, paths.Missing):
            logger.warning("error log refused: %r", stored)
    if not logs:
        return answer
    try:
        found = await in_file_thread(state, _messages, logs, state.settings.data_roots)
    except FilesUnavailable as exc:
        logger.warning("error logs unread: %s", exc.detail)
        return answer
    for total in answer["totals"]:
        counted = found.get(total["experimentType"], {})
        ordered = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
        total["messages"] = [{"count": count, "message": message} for message, count in ordered]
    return answer
