"""BlockQueue in interrupts: put/get under heap_lock() (a hard IRQ), no
allocation at all (mem_total), and micropython.schedule callbacks (soft IRQs)
landing inside put/get of the same queue."""
# Not a small-heap module: with a MemPool owner beside the queue and both engines,
# the x64 64K heap runs out (README, "Loading the rest at boot").

import micropython

import mptest
from memslab import BlockQueue
from mptest import eq
from qhelp import MODES, consistent, owners, take

# Not on engine="compiled": a queue has one viper pair whatever its owner's; a
# board running a module in one process keeps the machine code of every slab.


def isr(o, q, hs, out):
    """What a hard IRQ may do with a queue; `out` is preallocated (item writes only)."""
    q.put(hs[0])
    q.put(hs[1])
    out[0] = len(q)
    out[1] = q.get()
    q.put(hs[2])
    out[2] = q.get()
    out[3] = q.get()
    out[4] = q.get()
    try:
        q.put(hs[0] + 1000)  # out of range: a prebuilt ValueError under the lock
    except ValueError:
        out[5] = 1
    try:
        q.put(None)
    except TypeError:
        out[6] = 1


def test_put_and_get_in_a_hard_irq():
    for kw in MODES:
        for o in owners(kw):
            q = BlockQueue(o)
            hs = [take(o) for _ in range(3)]
            out = [None] * 7
            micropython.heap_lock()
            try:
                isr(o, q, hs, out)
            finally:
                micropython.heap_unlock()
            eq(out, [2, hs[0], hs[1], hs[2], None, 1, 1], "%r %s" % (kw, o.__class__.__name__))
            consistent(q, "%r after the ISR" % kw)


def test_put_and_get_ask_the_heap_for_nothing():
    # heap_lock() alone would not show it: a bytecode frame over 11 words comes
    # from the heap when it can (and from the C stack when the heap is locked).
    import gc

    total = getattr(micropython, "mem_total", gc.mem_alloc)
    for kw in MODES:
        for o in owners(kw):
            q = BlockQueue(o)
            a, b = take(o), take(o)
            out = [0, 0, 0]
            q.put(a)
            q.get()  # warm up
            gc.collect()
            gc.disable()
            try:
                before = total()
                for _ in range(50):
                    q.put(a)
                    q.put(b)
                    out[0] = q.get()
                    out[1] = q.get()
                    out[2] = q.get()
                took = total() - before
            finally:
                gc.enable()
            eq(took, 0, "%r %s: bytes asked for in 50 rounds" % (kw, o.__class__.__name__))
            eq(out, [a, b, None], "%r: results" % kw)


# -- soft IRQs: micropython.schedule(cb) just before a call makes cb run at the
# first jump inside it (python pair) or right after it (viper): either way no
# handle may be lost, doubled or reordered.


def flush():
    """Give pending callbacks their jump (a loop has one per round)."""
    for _ in range(3):
        pass


def test_a_callback_puts_while_main_gets():
    for kw in MODES:
        o = mptest.slab(16, 4, **kw)
        q = BlockQueue(o)
        a, b = o.alloc(), o.alloc()
        q.put(a)
        micropython.schedule(q.put, b)  # q.put: a plain function, no bound method
        g = q.get()
        flush()
        eq((g, consistent(q, "%r" % kw)), (a, [b]), "%r" % kw)


def test_a_callback_gets_while_main_gets():
    for kw in MODES:
        o = mptest.slab(16, 4, **kw)
        q = BlockQueue(o)
        a, b = o.alloc(), o.alloc()
        q.put(a)
        q.put(b)
        got = []
        micropython.schedule(lambda _: got.append(q.get()), 0)
        g = q.get()
        flush()
        eq(sorted([g] + got), [a, b], "%r: each handle once" % kw)
        eq(consistent(q, "%r" % kw), [], "%r: empty" % kw)
        q.put(a)
        eq((q.get(), q.get()), (a, None), "%r: still a queue" % kw)


def test_a_callback_gets_the_last_while_main_gets():
    for kw in MODES:
        o = mptest.slab(16, 4, **kw)
        q = BlockQueue(o)
        a = o.alloc()
        q.put(a)
        got = []
        micropython.schedule(lambda _: got.append(q.get()), 0)
        g = q.get()
        flush()
        eq(sorted([g, got[0]], key=lambda x: x is None), [a, None], "%r: one of them" % kw)
        eq(consistent(q, "%r" % kw), [], "%r: empty" % kw)


def test_a_callback_puts_while_main_puts():
    for kw in MODES:
        o = mptest.slab(16, 4, **kw)
        q = BlockQueue(o)
        a, b, c = o.alloc(), o.alloc(), o.alloc()
        q.put(a)
        micropython.schedule(q.put, c)
        q.put(b)
        flush()
        got = consistent(q, "%r" % kw)
        eq((got[0], sorted(got)), (a, sorted([a, b, c])), "%r: each once, a first" % kw)


def test_a_callback_gets_while_main_puts():
    for kw in MODES:
        o = mptest.slab(16, 4, **kw)
        q = BlockQueue(o)
        a, b = o.alloc(), o.alloc()
        q.put(a)
        got = []
        micropython.schedule(lambda _: got.append(q.get()), 0)
        q.put(b)
        flush()
        eq(got[0], a, "%r: the callback got the oldest" % kw)
        eq(consistent(q, "%r" % kw), [b], "%r: b queued" % kw)
