"""Each worker's look for batches of metrics stored but left out of the rollups: an upload stopped between storing
a batch and folding it (its worker killed, the document store lost meanwhile) and not retried with its key."""

import asyncio
import logging
from datetime import timedelta

from documents import rollups
from documents.store import DocumentStore, StoreTimeout, StoreUnavailable
from schemas.times import utc_now

logger = logging.getLogger(__name__)


async def fold_left_out(store: DocumentStore, after_seconds: float) -> None:
    """Every tenth of ``after_seconds``, fold the batches left unfolded for ``after_seconds`` (at once on start,
    so a worker replacing a killed one looks first); the store away or slow waits for the next look. Runs until
    cancelled."""
    while True:
        try:
            folded = await rollups.fold_abandoned(store.db, utc_now() - timedelta(seconds=after_seconds))
        except (StoreUnavailable, StoreTimeout) as exc:
            logger.info("unfolded metrics: not looked for now (%s)", exc.detail)
        except Exception:  # a look that fails must not end the looking
            logger.exception("unfolded metrics: the look failed; the next one tries again")
        else:
            if folded:
                logger.warning("folded %d metrics an interrupted upload had left out of the rollups", folded)
        await asyncio.sleep(after_seconds / 10)
