"""py-ispyb's ``_metadata.snapshots`` of data collection items: which of the files a collection names (crystal
snapshots 1-4, the quality plot as ``analysis``) can be served, for a whole page in one bounded file-thread call
(a hung data mount leaves them false instead of holding the event loop)."""

from collections.abc import Iterable
from typing import Any

from app.files import available
from app.state import AppState


async def mark_snapshots(state: AppState, items: Iterable[dict[str, Any] | None]) -> None:
    """Fill ``_metadata.snapshots`` of each item from the stored paths ``relational.datacollections`` left in its
    ``_files`` (removed)."""
    named = [item for item in items if item is not None and "_files" in item]
    files = [item.pop("_files") for item in named]
    found = iter(await available(state, [path for paths in files for path in paths.values()]))
    for item, paths in zip(named, files, strict=True):
        item["_metadata"]["snapshots"] = {key: next(found) for key in paths}
