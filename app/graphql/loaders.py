"""The request's batch loaders over the relational stems: every edge of a GraphQL query goes through one of these,
so a level of a query costs one statement whatever the number of its parents. Each applies the caller's scope in
its SQL (``relational/*.py``), at every depth."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.graphql.context import Context
from app.routers.params import MAX_ID
from relational import (
    containers,
    datacollections,
    dewars,
    labcontacts,
    processings,
    proposals,
    samples,
    sessions,
    shipping,
)
from relational.batches import Slice
from relational.common import Page
from schemas.errors import InvalidInput

Row = dict[str, Any]


@dataclass(frozen=True)
class Children:
    """An edge from parents to a page of their children: ``fetch(context, parent ids, page)``."""

    name: str
    fetch: Callable[[Context, list[int], Page], Awaitable[dict[int, Slice]]]

    async def page(self, context: Context, parent: int, page: Page) -> Slice:
        async def load(keys: list[tuple[int, Page]]) -> list[Slice]:
            wanted: dict[Page, list[int]] = {}
            for parent_id, window in keys:
                wanted.setdefault(window, []).append(parent_id)
            found: dict[tuple[int, Page], Slice] = {}
            for window, parents in wanted.items():
                async with context.sql:
                    part = await self.fetch(context, parents, window)
                found.update(((p, window), s) for p, s in part.items())
            return [found[key] for key in keys]

        return await context.loader(self.name, load).load((parent, page))


@dataclass(frozen=True)
class Objects:
    """Objects by id, None for one absent or out of reach: ``fetch(context, ids)``."""

    name: str
    fetch: Callable[[Context, list[int]], Awaitable[dict[int, Row]]]

    async def one(self, context: Context, key: int | None) -> Row | None:
        if key is None:
            return None

        async def load(keys: list[int]) -> list[Row | None]:
            async with context.sql:
                found = await self.fetch(context, keys)
            return [found.get(k) for k in keys]

        return await context.loader(self.name, load).load(key)


@dataclass(frozen=True)
class Lists:
    """A short list per id, all of it (a few statistics shells): ``fetch(context, ids)``."""

    name: str
    fetch: Callable[[Context, list[int]], Awaitable[dict[int, list[Row]]]]

    async def all(self, context: Context, key: int) -> Sequence[Row]:
        async def load(keys: list[int]) -> list[list[Row]]:
            async with context.sql:
                found = await self.fetch(context, keys)
            return [found.get(k, []) for k in keys]

        return await context.loader(self.name, load).load(key)


PROPOSALS = Objects("relational.proposals", lambda c, ids: proposals.by_proposal_ids(c.db, c.identity.scope, ids))
SESSIONS = Objects("relational.sessions", lambda c, ids: sessions.by_session_ids(c.db, c.identity.scope, c.schema, ids))
SESSIONS_OF_PROPOSALS = Children(
    "relational.sessions.of_proposals",
    lambda c, ids, p: sessions.of_proposals(c.db, c.identity.scope, c.schema, ids, p),
)
GROUPS = Objects("relational.groups", lambda c, ids: datacollections.groups_by_ids(c.db, c.identity.scope, ids))
GROUPS_OF_SESSIONS = Children(
    "relational.groups.of_sessions",
    lambda c, ids, p: datacollections.groups_of_sessions(c.db, c.identity.scope, ids, p),
)
COLLECTIONS = Objects(
    "relational.collections", lambda c, ids: datacollections.by_collection_ids(c.db, c.identity.scope, c.schema, ids)
)
COLLECTIONS_OF_SESSIONS = Children(
    "relational.collections.of_sessions",
    lambda c, ids, p: datacollections.of_sessions(c.db, c.identity.scope, c.schema, ids, p),
)
COLLECTIONS_OF_GROUPS = Children(
    "relational.collections.of_groups",
    lambda c, ids, p: datacollections.of_groups(c.db, c.identity.scope, c.schema, ids, p),
)
INTEGRATIONS_OF_COLLECTIONS = Children(
    "relational.integrations.of_collections",
    lambda c, ids, p: processings.integrations_of(c.db, c.identity.scope, ids, p),
)
STATISTICS_OF_INTEGRATIONS = Lists(
    "relational.statistics.of_integrations",
    lambda c, ids: processings.statistics_of_integrations(c.db, c.identity.scope, c.schema, ids),
)
PROGRAMS = Objects("relational.programs", lambda c, ids: processings.programs_by_ids(c.db, c.identity.scope, ids))
SHIPPINGS = Objects("relational.shippings", lambda c, ids: shipping.by_shipping_ids(c.db, c.identity.scope, ids))
SHIPPINGS_OF_PROPOSALS = Children(
    "relational.shippings.of_proposals", lambda c, ids, p: shipping.of_proposals(c.db, c.identity.scope, ids, p)
)
DEWARS = Objects("relational.dewars", lambda c, ids: dewars.by_dewar_ids(c.db, c.identity.scope, ids))
DEWARS_OF_SHIPPINGS = Children(
    "relational.dewars.of_shippings", lambda c, ids, p: dewars.of_shippings(c.db, c.identity.scope, ids, p)
)
CONTAINERS = Objects("relational.containers", lambda c, ids: containers.by_container_ids(c.db, c.identity.scope, ids))
CONTAINERS_OF_DEWARS = Children(
    "relational.containers.of_dewars", lambda c, ids, p: containers.of_dewars(c.db, c.identity.scope, ids, p)
)
SAMPLES = Objects("relational.samples", lambda c, ids: samples.by_sample_ids(c.db, c.identity.scope, ids))
SAMPLES_OF_CONTAINERS = Children(
    "relational.samples.of_containers", lambda c, ids, p: samples.of_containers(c.db, c.identity.scope, ids, p)
)
PROTEINS = Objects("relational.proteins", lambda c, ids: samples.by_protein_ids(c.db, c.identity.scope, ids))
PROTEINS_OF_PROPOSALS = Children(
    "relational.proteins.of_proposals", lambda c, ids, p: samples.proteins_of(c.db, c.identity.scope, ids, p)
)
LABCONTACTS = Objects(
    "relational.labcontacts", lambda c, ids: labcontacts.by_labcontact_ids(c.db, c.identity.scope, c.schema, ids)
)
LABCONTACTS_OF_PROPOSALS = Children(
    "relational.labcontacts.of_proposals",
    lambda c, ids, p: labcontacts.of_proposals(c.db, c.identity.scope, c.schema, ids, p),
)


def reference_id(value: object, key: str) -> int:
    """A federation representation's key, which a router sends as it got it: an id (or its digits)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput(f"`{key}` must be an id (1 to {MAX_ID}), not {str(value)[:40]!r}")
    return value
