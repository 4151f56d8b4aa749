"""memslab asyncio glue: `await slab.alloc_async(timeout_ms)` and `async with slab.block_async()`.

Imported on the first alloc_async()/block_async() only, so `import memslab`
never loads asyncio. The waiting itself (one FIFO for tasks and threads,
hand-off from free(), crashed loops) is in _waitq.py; a task adds what a
thread does not have: a ThreadSafeFlag to be woken by, and an event loop
that may die.
"""

import asyncio
import asyncio.core as _core  # type: ignore  # _core._task_queue is the running loop's identity
from time import ticks_add, ticks_diff, ticks_ms

from . import _waitq


def _loop_now():
    # asyncio.new_event_loop() replaces the task queue: its identity is the loop's.
    return _core._task_queue


class TaskWaiter(_waitq.Waiter):
    def __init__(self, slab, q):
        super().__init__(slab, q)
        self.flag = asyncio.ThreadSafeFlag()
        self.loop = _loop_now()

    def dead(self):
        return self.loop is not _loop_now()  # its loop was replaced: it never runs again

    def wake(self):
        self.flag.set()


def _queue(slab):
    """The slab's waiters, first dropping the tasks of a replaced event loop."""
    q = _waitq.queue(slab)
    q.loop_now = _loop_now
    if q.loop is not _loop_now():
        q.reap(slab.free)
        q.loop = _loop_now()
    return q


async def alloc(slab, timeout_ms):
    """The coroutine behind MemSlab.alloc_async()."""
    h = slab.alloc()
    if h is not None or (timeout_ms is not None and timeout_ms <= 0):
        return h
    w = TaskWaiter(slab, _queue(slab))
    h = _waitq.join_or_alloc(slab, w)
    if h is not None:
        return h
    # The timeout is an alarm task that sets the waiter's flag, not
    # asyncio.wait_for: wait_for swallows a cancel that lands while its inner
    # wait is finishing (the task then runs on, or times out, as if never
    # cancelled); awaiting the flag itself, a cancel always lands here.
    alarm = None
    try:
        end = ticks_add(ticks_ms(), timeout_ms) if timeout_ms is not None else 0
        while w.h < 0:
            if timeout_ms is not None:
                left = ticks_diff(end, ticks_ms())
                if left <= 0:
                    break
                if alarm is None or alarm.done():  # (re)armed: never give up early
                    alarm = asyncio.create_task(_alarm(w.flag, left))
            await w.flag.wait()
    except BaseException:  # CancelledError (a BaseException in MicroPython)
        _waitq._give_on(slab, w.leave())  # handed a block but cancelled: give it on
        raise
    finally:
        if alarm is not None:
            alarm.cancel()  # (a finished alarm: nothing happens)
    h = w.leave()  # a block handed over just as the time ran out is kept
    return h if h >= 0 else None


async def _alarm(flag, ms):
    await asyncio.sleep_ms(ms)
    flag.set()


class Block:
    """`async with slab.block_async(timeout_ms) as h:` frees h when the block exits."""

    def __init__(self, slab, timeout_ms):
        self.slab = slab
        self.timeout_ms = timeout_ms
        self.h = None

    async def __aenter__(self):
        h = await alloc(self.slab, self.timeout_ms)
        if h is None:
            raise asyncio.TimeoutError()
        self.h = h
        return h

    async def __aexit__(self, *exc):
        self.slab.free(self.h)
        return False
