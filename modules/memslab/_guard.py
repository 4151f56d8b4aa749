"""Critical sections: the one way memslab keeps IRQs and other threads out.

section() gives a fresh (enter, exit) pair: `s = enter()` ... `exit(s)`.
- rp2, esp32: machine.disable_irq()/enable_irq(). Masks IRQs on this core
  and (rp2 with core1 running, esp32) spin-locks the other core. Nests.
- Unix port: a _thread lock of the pair's own (no IRQs there; its threads
  run without a GIL), made re-entrant for its holder's thread: a
  micropython.schedule callback runs in whichever thread reaches a jump, so
  it can land inside the section of its own thread, and must not wait for a
  lock that thread holds (a deadlock). It goes on inside the section; what it
  calls is safe there (viper code cannot be cut into, the python engine and
  the waiter rings commit without a jump).
- neither: nothing can interrupt, enter/exit do nothing.

guarded(alloc, free) wraps a slab's hot path for threadsafe=True.
Allocation-free after setup: enter and exit are kept as plain callables.
"""

from . import MemSlab

_NO_SECTION = MemSlab._section  # (enter, exit) that do nothing

try:
    from machine import disable_irq, enable_irq
except ImportError:
    disable_irq = enable_irq = None

try:
    import _thread
except ImportError:
    _thread = None


def section():
    """A new (enter, exit) pair; see the top of this file."""
    if disable_irq is not None and enable_irq is not None:
        return disable_irq, enable_irq
    if _thread is None:
        return _NO_SECTION
    return _lock()[1]


def _lock():
    """The Unix port's section: [lock, holder's thread id] and its (enter, exit)."""
    g = [_thread.allocate_lock(), 0]

    def enter():
        if g[1] == _thread.get_ident():
            return 1  # re-entered by a scheduled callback of the holding thread
        g[0].acquire()
        g[1] = _thread.get_ident()  # no jump between acquiring and naming the holder
        return 0

    def exit(nested):
        if not nested:
            g[1] = 0
            g[0].release()

    return g, (enter, exit)


def guarded(alloc, free, lock=None):
    """alloc/free inside a critical section, and the (enter, exit) pair they use.

    lock: a _lock() to share (a MemPool's classes and its pair share one), else a new one."""
    if disable_irq is not None and enable_irq is not None:
        irq_off, irq_on = disable_irq, enable_irq

        def alloc_irq():
            s = irq_off()
            try:
                return alloc()
            finally:
                irq_on(s)

        def free_irq(h):
            s = irq_off()
            try:
                return free(h)
            finally:
                irq_on(s)

        return alloc_irq, free_irq, (irq_off, irq_on)
    if _thread is None:  # nothing can race
        return alloc, free, _NO_SECTION
    g, pair = lock or _lock()

    # Small on purpose: cells + argument + the try must fit an 11-word frame
    # (a bigger frame comes from the heap on every call). No jump between
    # acquire and naming the holder, nor between forgetting it and release:
    # a scheduled callback runs only at jumps (see the top).
    def alloc_locked():
        if g[1] == _thread.get_ident():  # a scheduled callback in our own section
            return alloc()
        g[0].acquire()
        g[1] = _thread.get_ident()
        try:
            return alloc()
        finally:
            g[1] = 0
            g[0].release()

    def free_locked(h):
        if g[1] == _thread.get_ident():
            return free(h)
        g[0].acquire()
        g[1] = _thread.get_ident()
        try:
            return free(h)
        finally:
            g[1] = 0
            g[0].release()

    return alloc_locked, free_locked, pair
