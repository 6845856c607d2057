"""The list envelope every list route answers (py-ispyb's ``{total, results, skip, limit}``)."""

from collections.abc import Sequence

from relational.common import Page


def listed(
    rows: Sequence[object], total: int | None = None, page: Page | None = None, estimate: bool | None = None
) -> dict[str, object]:
    """``rows`` as one page of ``total`` (with ``totalIsEstimate`` when the count may be an estimate); without
    ``page``, the whole list: its length as total and limit, skip 0."""
    skip, limit = (page.skip, page.limit) if page else (0, len(rows))
    envelope: dict[str, object] = {"total": len(rows) if total is None else total, "results": rows}
    if estimate is not None:
        envelope["totalIsEstimate"] = estimate
    return envelope | {"skip": skip, "limit": limit}
