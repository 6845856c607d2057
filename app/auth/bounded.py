"""A bound on the document-store calls of authentication (refresh tokens, API key look-ups): a hung store answers
503 within it instead of holding the caller until the driver gives up."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from documents.store import StoreUnavailable


@asynccontextmanager
async def bounded(timeout_ms: int) -> AsyncIterator[None]:
    """Give up after twice the store's own time-out (time to find the server again, then the operation)."""
    try:
        async with asyncio.timeout(2 * timeout_ms / 1000):
            yield
    except TimeoutError:
        raise StoreUnavailable() from None
