"""memslab asyncio glue: `await slab.alloc_async(timeout_ms)` and the waiter queue.

Imported on the first alloc_async() only, so `import memslab` never loads asyncio.

Waiters sit in a circular doubly linked list whose sentinel is the queue
object itself; st[WAIT] counts them. free() on a slab with waiters calls
give(h), which hands h straight to the oldest waiter (the block never
touches the free list, num_used does not change) and sets that waiter's
ThreadSafeFlag; the waiter then sits in a second ring, `handed`, until its
task runs and picks the block up. give() may run in a hard IRQ, another
thread or a micropython.schedule callback, so it allocates nothing.

A crashed program may replace the event loop (asyncio.new_event_loop()):
the old loop's tasks never run again. Waiters remember their loop; the first
give() or alloc_async() that sees a new one drops the dead waiters and frees
the blocks handed to them, so no block is lost to a task that cannot run.

Two kinds of concurrency are excluded:
- IRQs and other threads/cores: every queue change is made inside a critical
  section (machine.disable_irq where it exists, else one _thread lock).
- micropython.schedule callbacks run in the same thread between opcodes, but
  only at jumps (if/while/and/or). So the code inside each critical section is
  straight-line: no branch, no loop. A scheduled free() can therefore never
  cut into a half-done queue change (nor deadlock on the lock it holds).
  Unlinking is idempotent (an unlinked node points at itself), which is what
  lets leave() run without first testing whether give() already unlinked it.
"""

import asyncio
import asyncio.core as _core  # _core._task_queue: replaced by asyncio.new_event_loop()
from time import ticks_add, ticks_diff, ticks_ms

_WAIT = 5  # word index of the waiter count in slab._sw (read by free())

try:  # rp2, esp32: masks IRQs on this core, spin-locks the other core; nests
    from machine import disable_irq as _enter
    from machine import enable_irq as _exit
except ImportError:
    try:  # Unix port: no IRQs; threads are excluded by a lock
        import _thread

        _lock = _thread.allocate_lock()
        _enter = _lock.acquire  # a bound method kept once: calling it allocates nothing

        def _exit(_):
            _lock.release()

    except ImportError:  # no IRQ masking and no threads: nothing can race

        def _enter():
            return 0

        def _exit(_):
            pass


class _Ring:
    """A sentinel of a circular doubly linked list of _Waiter nodes."""

    def __init__(self):
        self.next = self
        self.prev = self

    def take(self, h):
        # The sentinel reached by give(): nobody is waiting (the last waiter
        # left, by timeout or cancel, racing a free from an IRQ or thread).
        return True


class _Waiters(_Ring):
    """The waiters of one slab: the ring of waiting tasks (this object is its
    sentinel) and `handed`, the ring of tasks handed a block that have not yet
    run to pick it up.

    Both rings belong to one event loop, `loop` (asyncio's task queue when
    they joined). asyncio.new_event_loop() replaces it: tasks of the old loop
    never run again, so their places and blocks are reclaimed (reap()) before
    anyone is served in the new loop.
    """

    def __init__(self, slab):
        super().__init__()
        self.handed = _Ring()
        self.loop = None
        # give()'s fallback is the engine's free() without the threadsafe guard:
        # the free() that called give() already holds it (the Unix lock does not nest).
        self._free_raw = slab._free_raw

    def give(self, h):
        """Hand block h to the oldest waiter; with none left, put h on the free list."""
        if self.loop is not _core._task_queue:  # the loop was replaced: nobody can run
            self.reap(self._free_raw)
        s = _enter()
        back = self.next.take(h)  # the sentinel's take() says "nobody"
        _exit(s)
        if back:
            # It re-reads st[WAIT], so a waiter that joined meanwhile still gets h.
            self._free_raw(h)

    def reap(self, free):
        """Drop every waiter of a replaced loop; give back blocks handed to them.

        Allocation-free (give() may run in a hard IRQ). Each leave() is atomic
        and idempotent, so a reap racing another reap frees each block once.
        """
        w = self.next
        while w is not self:
            w.leave()  # was waiting: uncounted, never resumed
            w = self.next
        ring = self.handed
        w = ring.next
        while w is not ring:
            g = w.leave()
            if g >= 0:
                free(g)
            w = ring.next


class _Waiter:
    def __init__(self, slab, q):
        self.next = self  # self-linked = in no ring
        self.prev = self
        self.h = -1  # the block handed over by give(), -1 until then
        self.counted = 0  # 1 while counted in st[WAIT] (in the waiting ring)
        self.flag = asyncio.ThreadSafeFlag()
        self._sw = slab._sw
        self._handed = q.handed

    def take(self, h):
        # Inside give()'s critical section: straight-line code only (see top).
        # Move from the waiting ring to the tail of the handed ring.
        self.prev.next = self.next
        self.next.prev = self.prev
        t = self._handed
        self.prev = t.prev
        self.next = t
        t.prev.next = self
        t.prev = self
        self.h = h
        self._sw[_WAIT] -= self.counted
        self.counted = 0
        self.flag.set()
        return False

    def join(self, q):
        """Queue at the tail (newest) of the waiting ring."""
        s = _enter()
        t = q.prev
        self.prev = t
        self.next = q
        t.next = self
        q.prev = self
        self.counted = 1
        self._sw[_WAIT] += 1
        _exit(s)

    def leave(self):
        """Unlink from whichever ring; return the block handed over (once), or -1."""
        s = _enter()
        self.prev.next = self.next
        self.next.prev = self.prev
        self.next = self
        self.prev = self
        self._sw[_WAIT] -= self.counted
        self.counted = 0
        h = self.h
        self.h = -1  # a second leave() (a racing reap) gets nothing to free
        _exit(s)
        return h


def _queue(slab):
    """The slab's waiters, first reaping those of a replaced event loop."""
    q = slab._waiters
    if q is None:
        q = slab._waiters = _Waiters(slab)
    if q.loop is not _core._task_queue:
        q.reap(slab.free)
        q.loop = _core._task_queue
    return q


async def alloc(slab, timeout_ms):
    """The coroutine behind MemSlab.alloc_async()."""
    h = slab.alloc()
    if h is not None or (timeout_ms is not None and timeout_ms <= 0):
        return h
    q = _queue(slab)
    w = _Waiter(slab, q)
    w.join(q)
    # A free() between the alloc() above and join() went to the free list
    # (it saw no waiters): look again now that free() hands blocks to us.
    h = slab.alloc()
    if h is not None:
        g = w.leave()
        if g >= 0:  # a free() handed us a block meanwhile too: pass it on
            slab.free(g)
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
        g = w.leave()
        if g >= 0:  # handed a block but cancelled before running: give it on
            slab.free(g)
        raise
    h = w.leave()  # a block handed over just as the time ran out is kept
    return h if h >= 0 else None
