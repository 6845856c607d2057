"""Idempotency-Key: a retried write answers what the first attempt answered and writes nothing."""

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Response

T = TypeVar("T")


class Once:
    """Runs a route's write once per Idempotency-Key (to be built: issue 12 part 5)."""

    async def __call__(self, work: Callable[[], Awaitable[T]]) -> T | Response:
        return await work()


def once() -> Once:
    return Once()


OnceDep = Annotated[Once, Depends(once)]
