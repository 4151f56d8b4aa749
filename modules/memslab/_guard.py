"""Critical sections: the one way memslab keeps IRQs and other threads out.

section() gives a fresh (enter, exit) pair: `s = enter()` ... `exit(s)`.
- rp2, esp32: machine.disable_irq()/enable_irq(). Masks IRQs on this core
  and (rp2 with core1 running, esp32) spin-locks the other core. Nests.
- Unix port: a _thread lock of the pair's own (no IRQs there; its threads
  run without a GIL). Does not nest: never enter the same pair twice.
- neither: nothing can interrupt, enter/exit do nothing.

guarded(alloc, free) wraps a slab's hot path for threadsafe=True.
Allocation-free after setup: enter and exit are kept as plain callables.
"""

from . import _NO_SECTION  # (enter, exit) that do nothing

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
    lock = _thread.allocate_lock()

    def exit(_):
        lock.release()

    return lock.acquire, exit


def guarded(alloc, free):
    """alloc/free inside a critical section, and the (enter, exit) pair they use."""
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
    lock = _thread.allocate_lock()

    def alloc_locked():  # `with` is the cheapest way to hold a lock from bytecode
        with lock:
            return alloc()

    def free_locked(h):
        with lock:
            return free(h)

    def exit(_):
        lock.release()

    return alloc_locked, free_locked, (lock.acquire, exit)
