"""memslab's waiters: tasks (alloc_async) and threads (alloc_wait) in one FIFO.

Loaded by the first waiter, never by `import memslab`.

Waiters sit in a circular doubly linked list whose sentinel is the queue
object itself; state word WAIT counts them. free() on a slab with waiters
calls give(h), which hands h straight to the oldest waiter (the block never
touches the free list, num_used does not change) and wakes it; the waiter
then sits in a second ring, `handed`, until it runs and picks the block up.
give() may run in a hard IRQ, another thread or a micropython.schedule
callback, so it allocates nothing.

Two kinds of concurrency are excluded:
- IRQs and other threads/cores: every ring change is made inside the queue's
  critical section (_guard.section()).
- micropython.schedule callbacks run in the same thread between opcodes, but
  only at jumps (if/while/and/or). So the code inside each critical section is
  straight-line: no branch, no loop. A scheduled free() can therefore never
  cut into a half-done ring change (nor deadlock on the lock it holds).
  Unlinking is idempotent (an unlinked node points at itself), which is what
  lets leave() run without first testing whether give() already unlinked it.

A task belongs to an event loop. A crashed program may replace the loop
(asyncio.new_event_loop()): the old loop's tasks never run again. Task
waiters remember their loop; the first give() or alloc_async() that sees a
new one drops them and frees the blocks handed to them (reap()), so no block
is lost to a task that cannot run. Thread waiters have no loop.
"""

from time import sleep_ms, ticks_add, ticks_diff, ticks_ms

from . import _guard
from ._layout import WAIT


class Ring:
    """A sentinel of a circular doubly linked list of Waiter nodes."""

    sentinel = True  # a walk that lands here has left the node it stood on

    def __init__(self):
        self.next = self
        self.prev = self

    def take(self, h):
        # The sentinel reached by give(): nobody is waiting (the last waiter
        # left, by timeout or cancel, racing a free from an IRQ or thread).
        return True


def _no_loop():
    return None  # no task has waited: nothing to compare


class Waiters(Ring):
    """The waiters of one slab: the waiting ring (this object is its sentinel)
    and `handed`, those handed a block that have not yet picked it up."""

    def __init__(self, slab):
        super().__init__()
        self.handed = Ring()
        self.enter, self.exit = _guard.section()
        # Set by _async once a task waits: loop_now() is the running event
        # loop's identity, `loop` the one the queued tasks belong to.
        self.loop_now = _no_loop
        self.loop = None
        # give()'s fallback is the engine's free() without the threadsafe guard:
        # the free() that called give() already holds it (a lock does not nest).
        self._free_raw = slab._free_raw or slab.free  # the slab's free() without its guard

    def give(self, h):
        """Hand block h to the oldest waiter; with none left, put h on the free list."""
        now = self.loop_now
        if self.loop is not now():  # the tasks' loop was replaced
            self.reap(self._free_raw)
            self.loop = now()
        s = self.enter()
        back = self.next.take(h)  # the sentinel's take() says "nobody"
        self.exit(s)
        if back:
            # The engine's free re-reads WAIT: a waiter that joined meanwhile still gets h.
            self._free_raw(h)

    def reap(self, free):
        """Drop the waiters of a replaced event loop; free the blocks handed to them.

        Allocation-free (give() may run in a hard IRQ). Each leave() is atomic
        and idempotent, so a reap racing another frees each block once. After
        each drop the walk starts again from the sentinel: the node it stood
        on may have been unlinked meanwhile (and then points at itself).
        """
        _reap(self, free)
        _reap(self.handed, free)


def _reap(ring, free):
    w = ring.next
    while w is not ring:
        if w.sentinel or w.next is w:
            # w left this ring under us (unlinked, or taken into the other
            # ring, so the walk stepped onto that ring's sentinel): start again
            w = ring.next
        elif w.dead():
            g = w.leave()
            if g >= 0:
                free(g)
            w = ring.next
        else:
            w = w.next


class Waiter:
    """One waiting thread (polls self.h); _async.TaskWaiter adds a flag and a loop."""

    sentinel = False

    def __init__(self, slab, q):
        self.next = self  # self-linked = in no ring
        self.prev = self
        self.h = -1  # the block handed over by give(), -1 until then
        self.counted = 0  # 1 while counted in WAIT (in the waiting ring)
        self._sw = slab._sw
        self._q = q

    def dead(self):
        return False  # a thread waits until it leaves

    def wake(self):
        pass  # a thread polls self.h

    def take(self, h):
        # Inside give()'s critical section: straight-line code only (see top).
        # Move from the waiting ring to the tail of the handed ring.
        self.prev.next = self.next
        self.next.prev = self.prev
        t = self._q.handed
        self.prev = t.prev
        self.next = t
        t.prev.next = self
        t.prev = self
        self.h = h
        self._sw[WAIT] -= self.counted
        self.counted = 0
        self.wake()
        return False

    def join(self):
        """Queue at the tail (newest) of the waiting ring."""
        q = self._q
        s = q.enter()
        t = q.prev
        self.prev = t
        self.next = q
        t.next = self
        q.prev = self
        self.counted = 1
        self._sw[WAIT] += 1
        q.exit(s)

    def leave(self):
        """Unlink from whichever ring; return the block handed over (once), or -1."""
        q = self._q
        s = q.enter()
        self.prev.next = self.next
        self.next.prev = self.prev
        self.next = self
        self.prev = self
        self._sw[WAIT] -= self.counted
        self.counted = 0
        h = self.h
        self.h = -1  # a second leave() (a racing reap) gets nothing to free
        q.exit(s)
        return h


def queue(slab):
    """The slab's waiters, made on first use; published under the slab's guard
    (straight-line: two first waiters at once never make twin queues)."""
    q = slab._waiters
    if q is None:
        new = Waiters(slab)  # built outside the guard: it allocates
        enter, exit = slab._section
        s = enter()
        q = slab._waiters
        q = (new, q)[q is not None]  # a select without a jump (see the top)
        slab._waiters = q
        exit(s)
    return q


def join_or_alloc(slab, w):
    """Queue w; return a block if one came free meanwhile (w then left), else None.

    A free() between the caller's first alloc() and join() went to the free
    list (it saw no waiters): look again now that free() hands blocks to us.
    """
    w.join()
    try:
        h = slab.alloc()
    except BaseException:  # SlabCorruptedError: no waiter may stay queued for nobody
        _give_on(slab, w.leave())
        raise
    if h is not None:
        _give_on(slab, w.leave())  # a free() handed us a block meanwhile too
    return h


def _give_on(slab, g):
    if g >= 0:
        slab.free(g)


def alloc_wait(slab, timeout_ms):
    """MemSlab.alloc_wait(): block this thread until a block is free."""
    h = slab.alloc()
    if h is not None or (timeout_ms is not None and timeout_ms <= 0):
        return h
    w = Waiter(slab, queue(slab))
    h = join_or_alloc(slab, w)
    if h is not None:
        return h
    end = ticks_add(ticks_ms(), timeout_ms) if timeout_ms is not None else 0
    try:
        while w.h < 0:
            if timeout_ms is not None and ticks_diff(end, ticks_ms()) <= 0:
                break
            sleep_ms(1)  # a hand-off lands in w.h; polling needs no IRQ-safe wake-up
    except BaseException:  # KeyboardInterrupt: leave, and pass on a block handed over
        _give_on(slab, w.leave())
        raise
    h = w.leave()  # a block handed over just as the time ran out is kept
    return h if h >= 0 else None
