"""memslab asyncio glue: `await slab.alloc_async(timeout_ms)` and the waiter queue.

Imported on the first alloc_async() only, so `import memslab` never loads asyncio.

Waiters sit in a circular doubly linked list whose sentinel is the queue
object itself; st[WAIT] counts them. free() on a slab with waiters calls
give(h), which hands h straight to the oldest waiter (the block never
touches the free list, num_used does not change) and sets that waiter's
ThreadSafeFlag. give() may run in a hard IRQ, another thread or a
micropython.schedule callback, so it allocates nothing.

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


class _Waiters:
    """FIFO of waiting tasks for one slab; the object is also the list sentinel."""

    def __init__(self, slab):
        self.next = self
        self.prev = self
        # give()'s fallback needs the engine's free() without the threadsafe
        # guard (the free() that called give() already holds it, and the Unix
        # lock does not nest). A second closure pair over the same state.
        if slab.engine == "viper":
            from . import _viper as engine
        else:
            from . import _python as engine
        self._free_raw = engine.make(slab, slab._st, range(slab.num_blocks), slab.checked)[1]

    def take(self, h):
        # Reached when free() saw waiters but the last one left before give()
        # got in (timeout or cancel racing a free from an IRQ or thread).
        return True

    def give(self, h):
        """Hand block h to the oldest waiter; with none left, put h on the free list."""
        s = _enter()
        back = self.next.take(h)  # the sentinel's take() says "nobody"
        _exit(s)
        if back:
            # The raw engine free: when threadsafe, the guard is already held
            # by the free() that called us. It re-reads st[WAIT], so a waiter
            # that joined meanwhile still gets h.
            self._free_raw(h)


class _Waiter:
    def __init__(self, slab):
        self.next = self  # self-linked = not in the queue
        self.prev = self
        self.h = -1  # the block handed over by give(), -1 until then
        self.flag = asyncio.ThreadSafeFlag()
        self._sw = slab._sw

    def take(self, h):
        # Inside give()'s critical section: straight-line code only (see top).
        self.prev.next = self.next
        self.next.prev = self.prev
        self.next = self
        self.prev = self
        self.h = h
        self._sw[_WAIT] -= 1
        self.flag.set()
        return False

    def join(self, q):
        """Queue at the tail (newest)."""
        s = _enter()
        t = q.prev
        self.prev = t
        self.next = q
        t.next = self
        q.prev = self
        self._sw[_WAIT] += 1
        _exit(s)

    def leave(self):
        """Unlink if still queued; return the block handed over, or -1."""
        s = _enter()
        queued = self.next is not self
        self.prev.next = self.next
        self.next.prev = self.prev
        self.next = self
        self.prev = self
        self._sw[_WAIT] -= queued
        h = self.h
        _exit(s)
        return h


async def alloc(slab, timeout_ms):
    """The coroutine behind MemSlab.alloc_async()."""
    h = slab.alloc()
    if h is not None or (timeout_ms is not None and timeout_ms <= 0):
        return h
    q = slab._waiters
    if q is None:
        q = slab._waiters = _Waiters(slab)
    w = _Waiter(slab)
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
