"""alloc_async: FIFO hand-off, timeouts, cancellation, wake-ups from outside the loop."""

import sys

if ".frozen" not in sys.path:  # a MICROPYPATH hides the frozen asyncio of the Unix port
    sys.path.append(".frozen")

import asyncio
import micropython
import time

import mptest
from mptest import eq, slab

WAIT = 5  # word index of the waiter count in slab._sw
# A bound that only a real hang reaches. No test asserts that something happens
# within a time window: a loaded machine can deschedule this process for seconds.
# They wait for the condition itself and give up at HANG_MS.
HANG_MS = 30000


class SkipTest(Exception):
    pass


def run(coro):
    return asyncio.run(coro)


def queue_is_empty(s):
    q = s._waiters
    return q is None or (q.next is q and q.prev is q)


def settled(s, used, what):
    """No waiter left behind, and num_used as expected."""
    eq(s._sw[WAIT], 0, what + ": waiter count")
    eq(queue_is_empty(s), True, what + ": queue empty")
    eq(s.num_used, used, what + ": num_used")


async def until(cond, what):
    """Yield to the loop until cond() holds; fail only after HANG_MS (a real hang)."""
    t0 = time.ticks_ms()
    while not cond():
        if time.ticks_diff(time.ticks_ms(), t0) > HANG_MS:
            raise AssertionError("%s: still not true after %d ms" % (what, HANG_MS))
        await asyncio.sleep_ms(0)


def full_slab(n=1, **kw):
    s = slab(16, n, **kw)
    return s, [s.alloc() for _ in range(n)]


def test_free_block_returns_at_once():
    s = slab(16, 2)
    c = s.alloc_async()
    try:
        c.send(None)  # a coroutine that finishes without suspending raises StopIteration
    except StopIteration as e:
        eq(e.value if hasattr(e, "value") else e.args[0], 0, "block")
    else:
        raise AssertionError("alloc_async suspended although a block was free")
    eq(s.num_used, 1, "num_used")


def test_timeout_zero_on_empty_slab_returns_none_at_once():
    s, _ = full_slab(1)
    c = s.alloc_async(0)
    try:
        c.send(None)
    except StopIteration as e:
        eq(e.args[0] if e.args else None, None, "result")
    else:
        raise AssertionError("alloc_async(0) suspended on an empty slab")
    settled(s, 1, "after alloc_async(0)")


def test_fifo_three_waiters_and_no_steal():
    s, (h,) = full_slab(1)
    order = []

    async def waiter(name):
        b = await s.alloc_async()
        order.append((name, b))
        await asyncio.sleep_ms(0)
        s.free(b)

    async def main():
        tasks = []
        for name in "ABC":
            tasks.append(asyncio.create_task(waiter(name)))
            await asyncio.sleep_ms(0)  # let it queue before the next one starts
        eq(s._sw[WAIT], 3, "three waiters counted")
        s.free(h)
        # Handed to A directly: still in use, not on the free list, not stealable.
        eq(s.num_used, 1, "num_used after hand-off")
        eq(s._sw[WAIT], 2, "two still waiting")
        eq(s.alloc(), None, "alloc() cannot take a handed-off block")
        for t in tasks:
            await t

    run(main())
    eq(order, [("A", h), ("B", h), ("C", h)], "served oldest first, same block passed on")
    settled(s, 0, "end")


def test_fifo_with_two_blocks():
    s, hs = full_slab(2)
    got = []

    async def waiter(name):
        got.append((name, await s.alloc_async()))

    async def main():
        tasks = []
        for name in "ABC":
            tasks.append(asyncio.create_task(waiter(name)))
            await asyncio.sleep_ms(0)
        s.free(hs[1])  # to A, the oldest waiter
        s.free(hs[0])  # to B
        # Both hand-offs are done; wait until both tasks have run. (Which of
        # the two woken tasks resumes first is the scheduler's business, not
        # the FIFO promise: compare who got which block, not the run order.)
        await until(lambda: len(got) >= 2, "A and B woken")
        eq(sorted(got), [("A", hs[1]), ("B", hs[0])], "the two oldest waiters served, in order")
        eq(s._sw[WAIT], 1, "C still waiting")
        eq(s.num_used, 2, "no block lost or freed on the way")
        s.free(hs[1])  # A's block goes to C
        await asyncio.wait_for_ms(tasks[2], HANG_MS)

    run(main())
    eq(got[2], ("C", hs[1]), "C last, with the block A gave back")
    settled(s, 2, "end")


def test_timeout_returns_none_no_earlier_than_asked():
    s, _ = full_slab(1)

    async def main():
        for t in (1, 7, 30, 60):
            t0 = time.ticks_ms()
            r = await s.alloc_async(t)
            took = time.ticks_diff(time.ticks_ms(), t0)
            eq(r, None, "result after %d ms" % t)
            if took < t:
                raise AssertionError("alloc_async(%d) gave up after %d ms" % (t, took))
            settled(s, 1, "after timeout %d" % t)

    run(main())


def test_a_cancel_as_the_timeout_expires_always_lands():
    # asyncio.wait_for (the timeout's first design) swallowed a cancel that
    # landed while its inner wait was being torn down: the task ran on and
    # returned None, as if never cancelled. Each j below is one step of that
    # teardown, the same on every run: the deadline is passed by a busy wait
    # (a loaded machine only makes it longer), then j loop rounds.
    for j in range(8):
        s, _ = full_slab(1)

        async def main():
            t = asyncio.create_task(s.alloc_async(2))
            await asyncio.sleep_ms(0)  # t waits
            t0 = time.ticks_ms()
            while time.ticks_diff(time.ticks_ms(), t0) < 4:  # past t's deadline
                pass
            for _ in range(j):
                await asyncio.sleep_ms(0)
            done = t.done()  # t timed out before the cancel: it returned None
            t.cancel()
            try:
                r = await t
            except asyncio.CancelledError:
                return "cancelled"
            return "timed out" if done and r is None else "cancel lost, returned %r" % r

        r = run(main())
        if r not in ("cancelled", "timed out"):
            raise AssertionError("step %d: %s" % (j, r))
        settled(s, 1, "step %d" % j)


def test_block_handed_over_as_timeout_expires_is_kept():
    # The waiter's deadline passes while the loop is busy; then free() hands it
    # a block before it runs again: it must return the block, not None.
    s, (h,) = full_slab(1)
    res = []

    async def waiter():
        res.append(await s.alloc_async(10))

    async def main():
        t = asyncio.create_task(waiter())
        await asyncio.sleep_ms(0)
        time.sleep_ms(30)  # blocks the loop past the deadline
        s.free(h)
        await t

    run(main())
    eq(res, [h], "result")
    settled(s, 1, "end")


def test_cancel_before_handoff_loses_nothing():
    s, (h,) = full_slab(1)

    async def main():
        ts = [asyncio.create_task(s.alloc_async()) for _ in range(2)]
        await asyncio.sleep_ms(0)
        eq(s._sw[WAIT], 2, "two waiters")
        ts[0].cancel()
        try:
            await ts[0]
        except asyncio.CancelledError:
            pass
        else:
            raise AssertionError("not cancelled")
        eq(s._sw[WAIT], 1, "the cancelled waiter left the queue")
        s.free(h)  # goes to the second waiter, not the cancelled one
        eq(await ts[1], h, "second waiter")
        s.free(h)

    run(main())
    settled(s, 0, "end")
    eq(s.alloc(), h, "block allocatable again")


def test_cancel_after_handoff_passes_block_to_next_waiter():
    s, (h,) = full_slab(1)

    async def main():
        a = asyncio.create_task(s.alloc_async())
        # b waits with a timeout (the wait_for path), one only a hang can reach:
        # a descheduled process must not let it expire before a hands over.
        b = asyncio.create_task(s.alloc_async(HANG_MS))
        await asyncio.sleep_ms(0)
        s.free(h)  # handed to a, which has not run yet
        a.cancel()
        try:
            await a
        except asyncio.CancelledError:
            pass
        else:
            raise AssertionError("not cancelled")
        eq(await b, h, "b gets the block a was handed")
        eq(s.num_used, 1, "still one in use")

    run(main())
    settled(s, 1, "end")


def test_cancel_after_handoff_last_waiter_returns_block_to_free_list():
    s, (h,) = full_slab(1)

    async def main():
        a = asyncio.create_task(s.alloc_async())
        await asyncio.sleep_ms(0)
        s.free(h)
        eq(s.num_used, 1, "handed over, still in use")
        a.cancel()
        try:
            await a
        except asyncio.CancelledError:
            pass

    run(main())
    settled(s, 0, "end")
    eq(s.alloc(), h, "block back on the free list")


def test_give_with_no_waiter_left_frees_the_block():
    # The race "free() saw a waiter, the waiter left before give()": give()
    # must put the block on the free list. Driven directly, both guard modes.
    for ts in (False, True):
        s, (h,) = full_slab(1, threadsafe=ts)

        async def main():
            eq(await s.alloc_async(1), None, "times out")

        run(main())
        settled(s, 1, "queue exists, empty")
        s._waiters.give(h)
        settled(s, 0, "block freed by give()")
        eq(s.alloc(), h, "allocatable")


def test_many_tasks_share_few_blocks():
    s = slab(16, 3)
    held = [0]
    peak = [0]

    async def worker(i):
        for _ in range(5):
            b = await s.alloc_async()
            held[0] += 1
            peak[0] = max(peak[0], held[0])
            s.view(b)[0] = i
            await asyncio.sleep_ms(1)
            eq(s.view(b)[0], i, "block content kept")
            held[0] -= 1
            s.free(b)

    async def main():
        await asyncio.gather(*[worker(i) for i in range(8)])

    run(main())
    eq(peak[0], 3, "never more holders than blocks")
    settled(s, 0, "end")
    eq(s.max_used, 3, "max_used")


def test_free_from_scheduled_callback_wakes_waiter():
    s, (h,) = full_slab(1)

    async def main():
        t = asyncio.create_task(s.alloc_async(HANG_MS))
        await asyncio.sleep_ms(0)
        micropython.schedule(s.free, h)  # s.free is a plain function: no bound method
        t0 = time.ticks_ms()
        r = await t
        eq(r, h, "woken with the block")
        # Handed over but never woken would still return h, at the deadline.
        if time.ticks_diff(time.ticks_ms(), t0) >= HANG_MS:
            raise AssertionError("woken by the timeout, not by free()")

    run(main())
    settled(s, 1, "end")


def test_free_from_other_thread_wakes_waiter():
    _thread = mptest.thread_or_skip()
    s, (h,) = full_slab(1, threadsafe=True)

    def other():
        time.sleep_ms(20)
        s.free(h)

    async def main():
        t = asyncio.create_task(s.alloc_async(HANG_MS))
        await asyncio.sleep_ms(0)
        _thread.start_new_thread(other, ())
        t0 = time.ticks_ms()
        r = await t
        eq(r, h, "woken with the block")
        # Handed over but never woken would still return h, at the deadline.
        if time.ticks_diff(time.ticks_ms(), t0) >= HANG_MS:
            raise AssertionError("woken by the timeout, not by free()")

    run(main())
    settled(s, 1, "end")


def test_engine_is_the_one_asked_for():
    eq(slab().engine, mptest.ENGINE, "engine")
