"""The task dump of ogi.streams (``kill -URG`` on a Faust worker) names every
frame a suspended task waits in, also across the __await__ wrappers Faust's
agents go through, down to the future."""

from __future__ import annotations

import asyncio
from typing import Any

from ogi.streams import _await_chain


class Wrapper:
    """Awaits a coroutine through its ``__await__`` iterator, as Faust's actors do."""

    def __init__(self, coro: Any) -> None:
        self.coro = coro

    def __await__(self) -> Any:
        return self.coro.__await__()


async def innermost(fut: asyncio.Future[None]) -> None:
    await fut


async def middle(fut: asyncio.Future[None]) -> None:
    await Wrapper(innermost(fut))


async def outer(fut: asyncio.Future[None]) -> None:
    await middle(fut)


def test_the_chain_goes_through_await_wrappers_down_to_the_future() -> None:
    async def main() -> list[str]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(outer(fut))
        await asyncio.sleep(0)
        chain = _await_chain(task)
        fut.set_result(None)
        await task
        return chain

    chain = asyncio.run(main())
    assert [line.rsplit(" ", 1)[-1] for line in chain[:3]] == ["outer", "middle", "innermost"]
    assert chain[-1].startswith("future <Future pending")
