"""alloc_wait(): a thread (or the RP2040's core 1) waits for a block.

Each test starts at most one extra thread (the rp2 port allows exactly one)
and synchronises on the slab's state, never on the clock: a wait loop's
bound is a hang detector, not a window.
"""

import sys

if ".frozen" not in sys.path:  # a MICROPYPATH hides the frozen asyncio of the Unix port
    sys.path.append(".frozen")

import micropython
import time

import mptest
from mptest import eq, raises, slab

COMPILED = True  # run on engine="compiled" too (run.py)

WAIT = 5  # word index of the waiter count in slab._sw
HANG_MS = 60000


def until(cond, what):
    """Wait (sleeping) until cond() holds; fail only on a real hang."""
    t0 = time.ticks_ms()
    while not cond():
        if time.ticks_diff(time.ticks_ms(), t0) > HANG_MS:
            raise AssertionError("hung waiting for: " + what)
        time.sleep_ms(1)


def in_thread(fn, *args):
    """Run fn(*args) in one extra thread; return a list that gets [result or exception]."""
    _thread = mptest.thread_or_skip()
    out = []

    def run():
        try:
            out.append(fn(*args))
        except Exception as e:  # noqa: BLE001 - handed to the test
            out.append(e)

    _thread.start_new_thread(run, ())
    return out


def test_alloc_wait_needs_threadsafe():
    s = slab(16, 1)
    e = raises(ValueError, s.alloc_wait)
    if "threadsafe=True" not in str(e):
        raise AssertionError(str(e))
    raises(TypeError, slab(16, 1, threadsafe=True).alloc_wait, "10")


def test_alloc_wait_without_waiting():
    s = slab(16, 1, threadsafe=True)
    eq(s.alloc_wait(), 0, "a free block at once")
    eq(s.alloc_wait(0), None, "timeout 0 on an empty slab: None at once")
    eq(s._sw[WAIT], 0, "nobody queued")


def test_alloc_wait_times_out_with_none_never_early():
    s = slab(16, 1, threadsafe=True)
    s.alloc()
    t0 = time.ticks_ms()
    eq(s.alloc_wait(30), None, "timed out")
    if time.ticks_diff(time.ticks_ms(), t0) < 30:
        raise AssertionError("returned before the timeout")
    eq((s._sw[WAIT], s.num_used), (0, 1), "left the queue, nothing lost")


def test_free_hands_the_block_to_a_waiting_thread():
    s = slab(16, 1, threadsafe=True)
    h = s.alloc()
    out = in_thread(s.alloc_wait)
    until(lambda: s._sw[WAIT] == 1, "the thread to queue")
    micropython.heap_lock()  # the hand-off is IRQ-safe: free() from a hard IRQ
    try:
        s.free(h)
    finally:
        micropython.heap_unlock()
    until(lambda: out, "the thread to return")
    eq((out[0], s.num_used, s._sw[WAIT]), (h, 1, 0), "the thread owns the block")
    eq(s.alloc(), None, "a handed-over block is not on the free list")


def test_threads_and_tasks_share_one_fifo():
    import asyncio

    s = slab(16, 2, threadsafe=True)
    a, b = s.alloc(), s.alloc()
    out = in_thread(s.alloc_wait)  # first in line
    until(lambda: s._sw[WAIT] == 1, "the thread to queue")
    got = []

    async def task():
        got.append(await s.alloc_async())

    async def main():
        t = asyncio.create_task(task())
        for _ in range(100000):  # rounds, not time: a dead task fails, never hangs
            if s._sw[WAIT] == 2:
                break
            await asyncio.sleep_ms(0)
        eq(s._sw[WAIT], 2, "the task queued behind the thread")
        s.free(a)  # to the thread: it came first
        until(lambda: out, "the thread to return")
        eq(got, [], "the task is still waiting")
        s.free(b)  # to the task
        await t

    asyncio.run(main())
    eq((out[0], got[0], s.num_used), (a, b, 2), "first come, first served")


def test_a_thread_that_times_out_never_keeps_a_block_it_did_not_return():
    s = slab(16, 1, threadsafe=True)
    h = s.alloc()
    out = in_thread(s.alloc_wait, 20)
    until(lambda: out, "the thread to time out")
    eq(out[0], None, "timed out")
    s.free(h)  # nobody waits any more: the block goes to the free list
    eq((s.num_used, s._sw[WAIT], s.alloc()), (0, 0, h), "nothing lost")


def test_a_failing_alloc_after_queueing_leaves_no_waiter_behind():
    from memslab import SlabCorruptedError

    s = slab(16, 1, threadsafe=True)
    s.alloc()
    real = s.alloc
    calls = [0]

    def alloc():  # the first look finds nothing; the look after queueing finds corruption
        calls[0] += 1
        if calls[0] == 1:
            return real()
        raise SlabCorruptedError("simulated")

    s.alloc = alloc
    raises(SlabCorruptedError, s.alloc_wait, 100)
    eq((calls[0], s._sw[WAIT]), (2, 0), "no phantom waiter left queued")


def test_a_reap_walk_survives_a_waiter_taken_under_it():
    # A reap walks the waiting ring; an IRQ or the other core hands the node it
    # stands on a block (take() moves it into the handed ring). The walk must
    # start again, not step onto the handed ring's sentinel.
    from memslab import _waitq

    s = slab(16, 2, threadsafe=True)
    held = [s.alloc(), s.alloc()]
    q = _waitq.queue(s)

    class Interrupted(_waitq.Waiter):
        def dead(self):
            if self.h < 0:
                s.free(held[0])  # "the IRQ": hands held[0] to this waiter mid-walk
            return False

    w = Interrupted(s, q)
    w.join()
    freed = []
    q.reap(freed.append)
    eq((w.h, freed, s._sw[WAIT]), (held[0], [], 0), "the live waiter kept its block")
    eq(w.leave(), held[0], "and picks it up")
