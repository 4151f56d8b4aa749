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
    try:
        if timeout_ms is None:
            while w.h < 0:
                await w.flag.wait()
        else:
            end = ticks_add(ticks_ms(), timeout_ms)
            while w.h < 0:
                left = ticks_diff(end, ticks_ms())
                if left <= 0:
                    break
                try:
                    await asyncio.wait_for_ms(w.flag.wait(), left)
                except asyncio.TimeoutError:
                    pass  # loop: re-check w.h and the clock (never give up early)
    except BaseException:  # CancelledError (a BaseException in MicroPython)
        _waitq._give_on(slab, w.leave())  # handed a block but cancelled: give it on
        raise
    h = w.leave()  # a block handed over just as the time ran out is kept
    return h if h >= 0 else None


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
