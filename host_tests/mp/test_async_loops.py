"""alloc_async across event loops: a crashed loop's waiters never keep a block."""

import sys

if ".frozen" not in sys.path:  # a MICROPYPATH hides the frozen asyncio of the Unix port
    sys.path.append(".frozen")

import asyncio

import mptest
from mptest import eq, slab

WAIT = 5  # word index of the waiter count in slab._sw


class Crash(Exception):
    pass


async def until(cond, what):
    """Yield to the loop until cond() holds. No clock: a bound on rounds catches a
    waiter that died (its task raised) instead of hanging the test."""
    for _ in range(100000):
        if cond():
            return
        await asyncio.sleep_ms(0)
    raise AssertionError("never happened: " + what)


def _crash_with_waiters(s, waiters, hand_over):
    """Run a loop whose main leaves `waiters` tasks in alloc_async, then raises.

    With hand_over, main frees one block first: the oldest waiter is handed it
    (its flag set) but the loop dies before that task runs to pick it up.
    """
    got = []

    async def waiter():
        got.append(await s.alloc_async())

    async def main():
        for _ in range(waiters):
            asyncio.create_task(waiter())
        await until(lambda: s._sw[WAIT] == waiters, "every waiter queued")
        if hand_over:
            s.free(0)
        raise Crash()

    try:
        asyncio.run(main())
    except Crash:
        pass
    eq(got, [], "no waiter of the crashed loop ran")


def _new_loop_gets_every_block(s, what):
    asyncio.new_event_loop()

    async def main():
        hs = []
        for _ in range(s.num_blocks):
            hs.append(await s.alloc_async(1000))
        return hs

    eq(sorted(asyncio.run(main())), list(range(s.num_blocks)), what + ": every block, once")
    eq(s._sw[WAIT], 0, what + ": no waiter left counted")


def test_waiters_of_a_crashed_loop_do_not_take_freed_blocks():
    s = slab(16, 2)
    held = [s.alloc(), s.alloc()]
    _crash_with_waiters(s, 3, False)
    eq(s._sw[WAIT], 3, "the dead waiters are still counted until a new loop looks")
    asyncio.new_event_loop()
    for h in held:
        s.free(h)  # handed to nobody: the waiters' loop is gone
    eq((s.num_used, s._sw[WAIT]), (0, 0), "both blocks back on the free list")
    _new_loop_gets_every_block(s, "after free()")


def test_a_block_handed_to_a_task_that_never_ran_comes_back():
    s = slab(16, 2)
    s.alloc()
    s.alloc()
    _crash_with_waiters(s, 2, True)  # block 0 handed to the oldest, which never ran
    eq(s.num_used, 2, "block 0 is in flight to a dead task")
    s.free(1)  # one real owner gives its block back in the new loop
    _new_loop_gets_every_block(s, "after the crash")


def test_a_new_loop_without_any_free_reclaims_at_alloc_async():
    s = slab(16, 3)
    for _ in range(3):
        s.alloc()
    _crash_with_waiters(s, 1, True)  # block 0 handed to a dead task
    s.free(1)
    s.free(2)
    # the loop was not replaced yet when these frees came: the old loop's live
    # waiters could still run in a later asyncio.run(); none left, so the list
    eq(s.num_used, 1, "block 0 still in flight")
    _new_loop_gets_every_block(s, "alloc_async in a new loop")


def test_the_same_loop_run_again_still_serves_its_waiters():
    # No new_event_loop(): the tasks are alive and resume in the next run.
    s = slab(16, 1)
    s.alloc()
    got = []

    async def waiter():
        got.append(await s.alloc_async())

    async def first():
        asyncio.create_task(waiter())
        await until(lambda: s._sw[WAIT] == 1, "the waiter queued")
        s.free(0)
        raise Crash()

    try:
        asyncio.run(first())
    except Crash:
        pass

    async def second():
        await until(lambda: got, "the handed task ran")

    asyncio.run(second())
    eq((got, s.num_used), ([0], 1), "the handed task picked its block up")


# -- async with slab.block_async(timeout_ms) as h


def test_block_async_frees_on_exit_and_on_an_exception():
    s = slab(16, 1)

    async def main():
        async with s.block_async() as h:
            eq((h, s.num_used), (0, 1), "inside")
        eq(s.num_used, 0, "after")
        try:
            async with s.block_async(100) as h:
                raise KeyError(h)
        except KeyError:
            pass
        eq(s.num_used, 0, "the exception did not leak the block")

    asyncio.run(main())


def test_block_async_waits_for_a_free_then_times_out():
    s = slab(16, 1)
    h = s.alloc()
    got = []

    async def user():
        async with s.block_async() as b:
            got.append(b)

    async def main():
        t = asyncio.create_task(user())
        await until(lambda: s._sw[WAIT] == 1, "the waiter queued")
        s.free(h)  # handed to the waiting block_async
        await t
        eq((got, s.num_used), ([h], 0), "used and freed")
        s.alloc()
        try:
            async with s.block_async(10):
                raise AssertionError("the body ran without a block")
        except asyncio.TimeoutError:
            pass
        eq((s.num_used, s._sw[WAIT]), (1, 0), "nothing taken, nobody queued")

    asyncio.run(main())


# -- MemPool.alloc_async(n)


def test_alloc_async_waits_for_a_block_that_fits():
    from memslab import MemPool

    p = MemPool(((16, 4), (64, 2), (256, 1)), engine=mptest.ENGINE)
    held = [p.alloc(100)]  # the only 256-byte block
    got = []

    async def waiter():
        got.append(await p.alloc_async(200))

    async def main():
        t = asyncio.create_task(waiter())
        await until(lambda: p.slabs[2]._sw[WAIT] == 1, "the waiter queued")
        eq(p.alloc(16), 0, "small blocks are still served meanwhile")
        p.free(held[0])
        await t
        eq(await p.alloc_async(200, 0), None, "timeout 0 on a full class")

    asyncio.run(main())
    eq(got, [6], "the 256-byte block, handed over")


def test_reset_keeps_a_block_handed_to_a_task_that_has_not_run():
    s = slab(16, 3)
    a, b, c = s.alloc(), s.alloc(), s.alloc()
    got = []

    async def waiter():
        got.append(await s.alloc_async())

    async def main():
        t = asyncio.create_task(waiter())
        await until(lambda: s._sw[WAIT] == 1, "the waiter queued")
        s.free(b)  # handed to the waiter, which has not run yet
        s.reset(owned=(a,))  # the caller lists what it holds; b is the waiter's
        await t
        eq(got, [b], "the waiter got its block")
        eq(sorted(s.used()), sorted([a, b]), "a and b allocated, c free")
        eq(s.alloc(), c, "only c is handed out")
        eq(s.alloc(), None, "and nothing twice")

    asyncio.run(main())


def test_a_scheduled_free_inside_a_hand_off_neither_deadlocks_nor_loses_a_block():
    # free(a) with waiters runs Python code (the hand-off) inside the threadsafe
    # guard; a micropython.schedule callback runs at one of its jumps and frees
    # b. On the Unix port the guard is a lock its own thread holds: the callback
    # must go on inside it, not wait for it.
    import micropython

    for kw in ({"threadsafe": True}, {"threadsafe": True, "checked": True}, {}):
        s = slab(16, 2, **kw)
        a, b = s.alloc(), s.alloc()
        got = []

        async def waiter():
            got.append(await s.alloc_async())

        async def main():
            tasks = [asyncio.create_task(waiter()), asyncio.create_task(waiter())]
            await until(lambda: s._sw[WAIT] == 2, "two waiters queued")
            micropython.schedule(s.free, b)
            s.free(a)
            for t in tasks:
                await t

        asyncio.run(main())
        eq((sorted(got), s.num_used, s._sw[WAIT]), ([a, b], 2, 0), "%r: both handed over" % kw)
