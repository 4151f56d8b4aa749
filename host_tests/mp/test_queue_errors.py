"""BlockQueue refuses bad input and changes nothing: non-ints, out of range,
a handle queued twice, (checked owners) a free handle; a long int of the
right value is its small int. Also BlockQueue() of something that is no owner."""
# Not a small-heap module: with a MemPool owner beside the queue and both engines,
# the x64 64K heap runs out (README, "Loading the rest at boot").

import micropython
from array import array

import mptest
from memslab import BlockQueue
from mptest import eq, raises
from qhelp import MODES, consistent, owners, state, take

# Not on engine="compiled": a queue has one viper pair whatever its owner's; a
# board running a module in one process keeps the machine code of every slab.


def test_bad_owner():
    for bad in (None, 6, "slab", [0] * 6):
        e = raises(TypeError, BlockQueue, bad)
        if "MemSlab or a MemPool" not in str(e):
            raise AssertionError(str(e))


def bad_puts(o, q, kw):
    """(argument, exception) pairs every put refuses, in this mode."""
    n = o.num_blocks
    rows = [
        (None, TypeError),
        ("1", TypeError),
        (1.0, TypeError),
        (True, TypeError),
        (b"\x00", TypeError),
        (-1, ValueError),
        (n, ValueError),
        (2**31, ValueError),
        (2**64 + 1, ValueError),
        (-(2**70), ValueError),
    ]
    held = [take(o), take(o)]
    q.put(held[0])
    rows.append((held[0], ValueError))  # queued already
    if kw.get("checked"):
        free = take(o)
        o.free(free)
        rows.append((free, ValueError))  # a free block
    return rows


def test_bad_put_raises_and_changes_nothing():
    for kw in MODES:
        for o in owners(kw):
            q = BlockQueue(o)
            for bad, exc in bad_puts(o, q, kw):
                what = "%r %s put(%r)" % (kw, o.__class__.__name__, bad)
                before = state(o, q)
                e = raises(exc, q.put, bad)
                eq(state(o, q), before, what + ": state changed")
                if "BlockQueue.put" not in str(e):
                    raise AssertionError("%s: %s" % (what, e))
            consistent(q, "%r after the refusals" % kw)


def test_a_free_handle_is_refused_only_where_the_owner_knows():
    o = mptest.slab(16, 2)  # default mode: the slab has no bit per block
    q = BlockQueue(o)
    q.put(1)  # never allocated: accepted, as free(1) of it would be
    eq(q.get(), 1, "default mode cannot tell")
    o = mptest.slab(16, 2, checked=True)
    q = BlockQueue(o)
    e = raises(ValueError, q.put, 1)
    if "free" not in str(e):
        raise AssertionError(str(e))


def test_an_equal_long_int_handle_is_put_as_its_small_int():
    for kw in MODES:
        for o in owners(kw):
            q = BlockQueue(o)
            h = take(o)
            big = array("q", [h])[0]  # an int object that is not the small int h
            micropython.heap_lock()
            try:
                q.put(big)  # in a hard IRQ, from a handle kept in an array('q')
            finally:
                micropython.heap_unlock()
            g = q.get()
            eq((g, g is h), (h, True), "%r: the small int" % kw)
            q.put(h)
            raises(ValueError, q.put, array("q", [h])[0])  # queued already
