"""MemPool in asyncio: block_async(n) and waiting counted in the pool's peaks."""

import sys

if ".frozen" not in sys.path:  # a MICROPYPATH hides the frozen asyncio of the Unix port
    sys.path.append(".frozen")

import asyncio

from mptest import eq, raises
from test_pool import pool

WAIT = 5  # word index of the waiter count in slab._sw


async def until(cond, what):
    """Yield to the loop until cond() holds (bounded rounds, no clock)."""
    for _ in range(100000):
        if cond():
            return
        await asyncio.sleep_ms(0)
    raise AssertionError("never happened: " + what)


def test_block_async_waits_and_frees_on_exit():
    p = pool()
    held = p.alloc(200)  # the only 256-byte block
    got = []

    async def user():
        async with p.block_async(200) as h:
            got.append((h, p.num_used))
        got.append(p.num_used)

    async def main():
        t = asyncio.create_task(user())
        await until(lambda: p.slabs[2]._sw[WAIT] == 1, "the task waits")
        p.free(held)  # handed to the waiting task
        await t

    asyncio.run(main())
    eq(got, [(6, 1), 0], "handed the block, freed it on exit")
    eq((p.num_used, p.max_used, p.stats()["max_allocated_bytes"]), (0, 1, 256), "counts")


def test_block_async_times_out_with_nothing_taken():
    p = pool()
    held = p.alloc(200)

    async def main():
        try:
            async with p.block_async(200, 0):
                raise AssertionError("no block can be free")
        except asyncio.TimeoutError:
            pass

    asyncio.run(main())
    eq((p.num_used, p.slabs[2]._sw[WAIT]), (1, 0), "nothing taken, nobody queued")
    p.free(held)
    raises(TypeError, p.block_async, 10, "5")  # refused at the call, not at the await


def test_a_block_handed_to_a_waiter_counts_once():
    # free(h) with a waiter hands h over (the class's num_used stays): the
    # pool's counts must not drop, nor rise when the waiter picks it up.
    p = pool()
    a, b, c = p.alloc(40), p.alloc(40), p.alloc(40)  # every class that fits 40 bytes is full
    got = []

    async def waiter():
        got.append(await p.alloc_async(40))

    async def main():
        t = asyncio.create_task(waiter())
        await until(lambda: p.slabs[1]._sw[WAIT] == 1, "the waiter queued")
        p.free(a)
        await t

    asyncio.run(main())
    eq((got, p.num_used), ([a], 3), "handed over")
    for h in (a, b, c):
        p.free(h)
    eq(p.num_used, 0, "all back")
    for _ in range(2):
        p.alloc(12)
    eq(p.max_used, 3, "the pool-wide peak: 3 at once, never more")
    eq(p.stats()["max_allocated_bytes"], 64 + 64 + 256, "bytes")
    eq(p._st[6], 2, "the pool's own count of blocks in use (_poolviper.py's T)")
