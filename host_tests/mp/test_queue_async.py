"""BlockQueue waiting: get_async (first come, first served, timeouts, cancels,
`async for`), get_wait in a thread, and the run the issue asks for: an
IRQ-like heap-locked producer thread, consumer tasks that get cancelled and
replaced, and every handle back exactly once.

Nothing here waits for a time window: each wait is for a condition, bounded
only by HANG_MS, which only a real hang reaches. Which task a cancel hits,
and whether it had been handed a handle, varies from run to run; what is
checked holds in every interleaving.
"""

import sys

if ".frozen" not in sys.path:  # a MICROPYPATH hides the frozen asyncio of the Unix port
    sys.path.append(".frozen")

import asyncio
import micropython
import time
from array import array

import mptest
from memslab import BlockQueue, MemPool
from mptest import eq, raises

# Not on engine="compiled": a queue has one viper pair whatever its owner's; a
# board running a module in one process keeps the machine code of every slab.

WAIT = 5  # word index of the waiter count in the queue's state
HANG_MS = 60000


def settled(q, queued, what):
    """No waiter left, no handle marked as handed, len(q) as expected."""
    eq(q._s[WAIT], 0, what + ": waiters")
    w = q._side._waiters
    eq(w is None or (w.next is w and w.handed.next is w.handed), True, what + ": rings")
    eq(len(q), queued, what + ": queued")
    eq([h for h in range(q._s[2]) if q._L[h] < 0], [], what + ": marked handed")


async def until(cond, what):
    """Yield to the loop until cond() holds; fail only after HANG_MS (a hang)."""
    t0 = time.ticks_ms()
    while not cond():
        if time.ticks_diff(time.ticks_ms(), t0) > HANG_MS:
            raise AssertionError("%s: still not true after %d ms" % (what, HANG_MS))
        await asyncio.sleep_ms(0)


def full(n=3, **kw):
    """A slab of n blocks, all allocated, and an empty queue over it."""
    s = mptest.slab(16, n, **kw)
    return s, BlockQueue(s), [s.alloc() for _ in range(n)]


async def cancelled(t):
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        return True
    return False


def test_get_async_returns_a_queued_handle_at_once():
    s, q, hs = full()
    q.put(hs[1])

    async def main():
        eq(await q.get_async(), hs[1], "queued")
        eq(await q.get_async(0), None, "timeout 0, empty: None at once")

    asyncio.run(main())
    settled(q, 0, "end")


def test_timeouts_are_checked_at_the_call():
    s, q, hs = full()
    raises(TypeError, q.get_async, "10")
    raises(TypeError, q.get_async, 1.5)
    raises(ValueError, q.get_async, 2**29)
    raises(TypeError, q.get_wait, "10")


def test_get_async_times_out_with_none_never_early():
    s, q, hs = full()

    async def main():
        t0 = time.ticks_ms()
        eq(await q.get_async(20), None, "timed out")
        if time.ticks_diff(time.ticks_ms(), t0) < 20:
            raise AssertionError("returned before the timeout")

    asyncio.run(main())
    settled(q, 0, "end")


def test_a_heap_locked_put_hands_over_to_waiting_tasks_in_order():
    s, q, hs = full()
    got = []

    async def waiter(i):
        got.append((i, await q.get_async(HANG_MS if i == 1 else None)))

    async def main():
        ts = [asyncio.create_task(waiter(i)) for i in range(3)]
        await until(lambda: q._s[WAIT] == 3, "three waiters")
        micropython.heap_lock()  # the hand-off is IRQ-safe: put() from a hard IRQ
        try:
            q.put(hs[2])
            q.put(hs[0])
            q.put(hs[1])
        finally:
            micropython.heap_unlock()
        eq((len(q), q.get()), (0, None), "handed over, not queued")
        for t in ts:
            await t

    asyncio.run(main())
    eq(sorted(got), [(0, hs[2]), (1, hs[0]), (2, hs[1])], "first come, first served")
    settled(q, 0, "end")


def test_a_handed_handle_cannot_be_put_again_before_its_task_runs():
    s, q, hs = full()

    async def main():
        t = asyncio.create_task(q.get_async())
        await until(lambda: q._s[WAIT] == 1, "a waiter")
        q.put(hs[0])  # handed to t, which has not run yet
        e = raises(ValueError, q.put, hs[0])
        if "queued already" not in str(e):
            raise AssertionError(str(e))
        eq(await t, hs[0], "t got it")
        q.put(hs[0])  # t's now: it may put it again
        eq(q.get(), hs[0], "queued")

    asyncio.run(main())
    settled(q, 0, "end")


def test_cancel_before_handoff_loses_nothing():
    s, q, hs = full()

    async def main():
        a = asyncio.create_task(q.get_async())
        b = asyncio.create_task(q.get_async())
        await until(lambda: q._s[WAIT] == 2, "two waiters")
        eq(await cancelled(a), True, "a cancelled")
        eq(q._s[WAIT], 1, "a left the line")
        q.put(hs[0])
        eq(await b, hs[0], "b got it")

    asyncio.run(main())
    settled(q, 0, "end")


def test_cancel_after_handoff_passes_the_handle_to_the_next_waiter():
    s, q, hs = full()

    async def main():
        a = asyncio.create_task(q.get_async())
        b = asyncio.create_task(q.get_async(HANG_MS))
        await until(lambda: q._s[WAIT] == 2, "two waiters")
        q.put(hs[0])  # handed to a, which has not run yet
        eq(await cancelled(a), True, "a cancelled")
        eq(await b, hs[0], "b gets what a was handed")

    asyncio.run(main())
    settled(q, 0, "end")


def test_cancel_after_handoff_of_the_last_waiter_queues_the_handle_again():
    s, q, hs = full()

    async def main():
        a = asyncio.create_task(q.get_async())
        await until(lambda: q._s[WAIT] == 1, "a waiter")
        q.put(hs[0])
        q.put(hs[1])  # nobody waits any more: queued
        eq(await cancelled(a), True, "a cancelled")

    asyncio.run(main())
    settled(q, 2, "end")
    eq(q.clear(), [hs[1], hs[0]], "queued again, behind what was put meanwhile")


def test_a_cancel_as_the_timeout_expires_always_lands():
    # See test_async.py's twin: each j is one loop round after the deadline.
    for j in range(8):
        s, q, hs = full()

        async def main():
            t = asyncio.create_task(q.get_async(2))
            await asyncio.sleep_ms(0)  # t waits
            t0 = time.ticks_ms()
            while time.ticks_diff(time.ticks_ms(), t0) < 4:  # past t's deadline
                pass
            for _ in range(j):
                await asyncio.sleep_ms(0)
            done = t.done()
            t.cancel()
            try:
                r = await t
            except asyncio.CancelledError:
                return "cancelled"
            return "timed out" if done and r is None else "cancel lost, returned %r" % r

        r = asyncio.run(main())
        if r not in ("cancelled", "timed out"):
            raise AssertionError("step %d: %s" % (j, r))
        settled(q, 0, "step %d" % j)


def test_async_for_and_break():
    s, q, hs = full()
    for h in hs:
        q.put(h)

    async def main():
        got = []
        async for h in q:
            got.append(h)
            if len(got) == 3:
                break
        return got

    eq(asyncio.run(main()), hs, "in order")
    settled(q, 0, "end")


def test_a_put_from_another_thread_wakes_a_task():
    _thread = mptest.thread_or_skip()
    s, q, hs = full(threadsafe=True)

    def irq():  # the stand-in for an interrupt on the other core
        micropython.heap_lock()
        try:
            q.put(hs[0])
        finally:
            micropython.heap_unlock()

    async def main():
        t = asyncio.create_task(q.get_async())
        await until(lambda: q._s[WAIT] == 1, "a waiter")
        _thread.start_new_thread(irq, ())
        eq(await t, hs[0], "woken with the handle")

    asyncio.run(main())
    settled(q, 0, "end")


def test_get_wait_needs_a_threadsafe_owner():
    s, q, hs = full()
    e = raises(ValueError, q.get_wait)
    if "threadsafe=True" not in str(e):
        raise AssertionError(str(e))
    s, q, hs = full(threadsafe=True)
    q.put(hs[0])
    eq((q.get_wait(), q.get_wait(0)), (hs[0], None), "at once; timeout 0: None")
    t0 = time.ticks_ms()
    eq(q.get_wait(20), None, "timed out")
    if time.ticks_diff(time.ticks_ms(), t0) < 20:
        raise AssertionError("returned before the timeout")
    settled(q, 0, "end")


def test_get_wait_in_a_thread_gets_a_heap_locked_put():
    _thread = mptest.thread_or_skip()
    s, q, hs = full(threadsafe=True)
    out = []

    def consumer():
        out.append(q.get_wait())

    _thread.start_new_thread(consumer, ())
    t0 = time.ticks_ms()
    while q._s[WAIT] != 1:
        if time.ticks_diff(time.ticks_ms(), t0) > HANG_MS:
            raise AssertionError("the thread never waited")
        time.sleep_ms(1)
    micropython.heap_lock()
    try:
        q.put(hs[2])
    finally:
        micropython.heap_unlock()
    while not out:
        if time.ticks_diff(time.ticks_ms(), t0) > HANG_MS:
            raise AssertionError("the thread never returned")
        time.sleep_ms(1)
    eq(out, [hs[2]], "the thread got it")
    settled(q, 0, "end")


# -- the run: nothing is lost --

EVENTS = 1500
CONSUMERS = 3
CANCEL_EVERY = 7  # consumed events between two cancels


def producer(owner, q, stamp, ctr):
    """The interrupt: take a block, stamp it with the event number, put it.

    Runs with the heap locked, as a hard IRQ; when no block is free it
    unlocks and tries again (an IRQ would drop the event; retrying keeps the
    count exact)."""
    pool = hasattr(owner, "slabs")
    seq = 0
    try:
        while seq < EVENTS:
            micropython.heap_lock()
            try:
                h = owner.alloc(1) if pool else owner.alloc()
                if h is not None:
                    stamp[h] = seq
                    q.put(h)
                    seq += 1
            finally:
                micropython.heap_unlock()
            if h is None:
                ctr[1] += 1
                time.sleep_ms(0)
    except Exception as e:  # noqa: BLE001 - reported by the test
        ctr[3] = 1
        sys.print_exception(e)
    ctr[0] = 1  # done


async def consumer(i, owner, q, stamp, seen, ctr):
    """Take a handle, check its stamp, count the event, free the block."""
    if i % 2:
        async for h in q:
            _consume(h, owner, stamp, seen, ctr)
            await asyncio.sleep_ms(0)
    else:
        while True:
            h = await q.get_async(1 + i % 3)  # short timeouts race the hand-offs
            if h is not None:
                _consume(h, owner, stamp, seen, ctr)
            await asyncio.sleep_ms(0)


def _consume(h, owner, stamp, seen, ctr):
    seq = stamp[h]
    stamp[h] = -1  # a handle seen twice would show its stamp as -1
    m = 1 << (seq & 7)
    if seq < 0 or seen[seq >> 3] & m:  # a handle, or an event, seen twice
        ctr[3] = 2
    else:
        seen[seq >> 3] |= m
    ctr[2] += 1
    owner.free(h)


def in_thread(owner, q, stamp, ctr):
    """Start the producer in a thread (the Unix port; core 1 of an RP2040)."""
    mptest.thread_or_skip().start_new_thread(producer, (owner, q, stamp, ctr))


# The hard-timer producer's state: module globals, so that the handler is a
# plain function (a closure of five or more cells and arguments allocates per
# call) and takes nothing but globals and array items.
TIMER = [None, None, None, None, False]  # owner, queue, stamps, counters, a pool?
SEQ = array("i", [0])


def on_tick(_timer):
    """A real hard IRQ (machine.Timer(hard=True)): the producer, one event per tick."""
    ctr = TIMER[3]  # one name at a time: unpacking four would build a tuple
    if ctr[0]:
        return
    try:
        owner = TIMER[0]
        q = TIMER[1]
        stamp = TIMER[2]
        h = owner.alloc(1) if TIMER[4] else owner.alloc()
        if h is None:
            ctr[1] += 1  # no block: this tick's event waits for the next tick
            return
        stamp[h] = SEQ[0]
        q.put(h)
        SEQ[0] += 1
        if SEQ[0] == EVENTS:
            ctr[0] = 1
    except Exception:  # noqa: BLE001 - a prebuilt exception (the heap is locked)
        ctr[3] = 1
        ctr[0] = 1


def on_hard_timer(owner, q, stamp, ctr):
    """Start the producer as a hard timer interrupt (rp2), or skip."""
    try:
        from machine import Timer

        SEQ[0] = 0
        TIMER[:] = [owner, q, stamp, ctr, hasattr(owner, "slabs")]
        return Timer(freq=2000, mode=Timer.PERIODIC, callback=on_tick, hard=True)
    except (ImportError, ValueError, TypeError) as e:  # no machine.Timer, or no hard IRQs
        raise mptest.SkipTest("no hard timer interrupt on this port: %r" % e)


def run_pipeline(owner, start=in_thread):
    q = BlockQueue(owner)
    n = owner.num_blocks
    stamp = array("i", [-1] * n)
    # One bit per event: a board's harness may run this after tests whose
    # leftovers cut the heap up (188 bytes in one piece, where one per event
    # was 1,500; seen on the emulated Pico).
    seen = bytearray((EVENTS + 7) >> 3)
    ctr = array("i", [0, 0, 0, 0])  # producer done, producer misses, consumed, error
    cancels = [0, 0]  # cancels, of which hit a task that had been handed a handle

    async def main():
        tasks = [
            asyncio.create_task(consumer(i, owner, q, stamp, seen, ctr)) for i in range(CONSUMERS)
        ]
        timer = start(owner, q, stamp, ctr)
        nxt = CANCEL_EVERY
        k = 0
        t0 = time.ticks_ms()
        while ctr[2] < EVENTS and not ctr[3]:
            if time.ticks_diff(time.ticks_ms(), t0) > HANG_MS:
                raise AssertionError("hung: %d of %d consumed" % (ctr[2], EVENTS))
            if ctr[2] >= nxt:  # cancel one consumer, start another in its place
                nxt += CANCEL_EVERY
                handed = any(q._L[h] < 0 for h in range(n))
                tasks[k % CONSUMERS].cancel()
                await asyncio.sleep_ms(0)  # the cancel lands
                cancels[0] += 1
                cancels[1] += handed
                tasks[k % CONSUMERS] = asyncio.create_task(consumer(k, owner, q, stamp, seen, ctr))
                k += 1
            await asyncio.sleep_ms(0)
        await until(lambda: ctr[0], "the producer to finish")
        if timer is not None:
            timer.deinit()
        for t in tasks:  # each leaves the line as its cancel lands
            eq(await cancelled(t), True, "a consumer ended by its cancel")

    asyncio.run(main())
    what = "%s" % owner.__class__.__name__
    eq(ctr[3], 0, what + ": an error in the producer (1) or a handle seen twice (2)")
    eq(ctr[2], EVENTS, what + ": consumed")
    missed = [i for i in range(EVENTS) if not (seen[i >> 3] >> (i & 7)) & 1]
    eq(missed, [], what + ": events not seen (a second sighting stops the producer: ctr[3] 2)")
    settled(q, 0, what + " end")
    eq(owner.num_used, 0, what + ": every block back")
    got = [owner.alloc(1) if hasattr(owner, "slabs") else owner.alloc() for _ in range(n)]
    eq(sorted(got), list(range(n)), what + ": each block free exactly once")
    return cancels


def test_nothing_lost_irq_thread_async_consumers_and_cancels():
    run_pipeline(mptest.slab(16, 4, threadsafe=True))


def test_nothing_lost_irq_thread_async_consumers_and_cancels_pool():
    kw = {"engine": mptest.ENGINE, "threadsafe": True}
    owner = MemPool(((16, 3), (32, 2)), **kw)
    if mptest.ENGINE == "compiled" and owner.slabs[0].engine != "compiled":
        raise mptest.SkipTest("no compiled pair for this pool")
    run_pipeline(owner)


def test_nothing_lost_checked():
    run_pipeline(mptest.slab(16, 3, threadsafe=True, checked=True))


def test_nothing_lost_from_a_hard_timer_irq():
    # The same run with a real hard interrupt as the producer, where the port
    # has one (rp2; the emulated Pico too): slab.alloc() and q.put() in the
    # handler, everything else in tasks, the guard masking the IRQ around each
    # task-side call.
    run_pipeline(mptest.slab(16, 4, threadsafe=True), on_hard_timer)
