"""BlockQueue: FIFO order, room for every handle, its engine, clear(), lazy loading.

Every test runs on the engine under test, over a MemSlab and a MemPool, in
each mode (plain, checked, threadsafe, both; qhelp.py). Bad input is in
test_queue_errors.py, the hard-IRQ and soft-IRQ rules in test_queue_irq.py,
waiting (get_async, get_wait) and the many-task, many-thread run in
test_queue_async.py (one module each: each compiles on a 64 KB heap).
"""
# Not a small-heap module: with a MemPool owner beside the queue and both engines,
# the x64 64K heap runs out (README, "Loading the rest at boot").

import mptest
from memslab import BlockQueue
from mptest import eq
from qhelp import MODES, consistent, owners, take

# Not on engine="compiled": a queue has one viper pair whatever its owner's; a
# board running a module in one process keeps the machine code of every slab.
ANY_ENGINE = ("test_import_memslab_does_not_load_the_queue",)


def test_fifo_order_and_len():
    for kw in MODES:
        for o in owners(kw):
            q = BlockQueue(o)
            what = "%r %s" % (kw, o.__class__.__name__)
            eq((len(q), q.get()), (0, None), what + ": empty")
            hs = [take(o) for _ in range(6)]
            for h in (hs[3], hs[0], hs[5]):
                q.put(h)
            eq(consistent(q, what), [hs[3], hs[0], hs[5]], what + ": queued")
            eq(q.get(), hs[3], what + ": oldest first")
            q.put(hs[1])
            eq([q.get() for _ in range(4)], [hs[0], hs[5], hs[1], None], what + ": FIFO")
            consistent(q, what + " drained")
            eq(o.num_used, 6, what + ": the queue never frees")


def test_room_for_every_handle():
    for kw in MODES:
        for o in owners(kw):
            q = BlockQueue(o)
            what = "%r %s" % (kw, o.__class__.__name__)
            hs = [take(o) for _ in range(o.num_blocks)]
            for h in reversed(hs):
                q.put(h)
            eq(len(q), o.num_blocks, what + ": every handle queued")
            got = [q.get() for _ in range(len(hs))]
            eq(got, list(reversed(hs)), what + ": in order")
            for h in got:
                o.free(h)
            eq((o.num_used, q.get()), (0, None), what + ": all back")


def test_the_queue_follows_its_owner():
    import memslab

    fast = memslab._viper is not None and memslab._viper.FAST  # the fallback variant: False
    for kw in MODES:
        for o in owners(kw):
            q = BlockQueue(o)
            want = "python" if mptest.ENGINE == "python" or not fast else "viper"
            eq(q.engine, want, "%r: engine" % kw)
            eq(q.threadsafe, bool(kw.get("threadsafe")), "%r: threadsafe" % kw)


def test_the_python_pair_where_the_viper_checks_fail():
    if mptest.ENGINE == "python":
        raise mptest.SkipTest("the python engine has no viper pair to fall back from")
    from memslab import _viper

    _viper.FAST = False
    try:
        o = mptest.slab(16, 2)
        q = BlockQueue(o)
    finally:
        _viper.FAST = True
    eq(q.engine, "python", "the fallback pair")
    h = o.alloc()
    q.put(h)
    eq((q.get(), q.get()), (h, None), "works the same")


def test_clear_hands_back_the_queued_handles():
    for kw in MODES:
        o = mptest.slab(16, 4, **kw)
        q = BlockQueue(o)
        hs = [o.alloc() for _ in range(3)]
        for h in hs:
            q.put(h)
        eq(q.clear(), hs, "%r: oldest first" % kw)
        eq((len(q), o.num_used), (0, 3), "%r: still allocated, not queued" % kw)
        q.put(hs[1])  # put again: clear() left no mark
        # The README's recipe before slab.reset(): take the queued handles out
        # first; reset(owned) then frees whatever is not listed.
        q.clear()
        o.reset(owned=(hs[0],))
        eq((o.num_used, len(q)), (1, 0), "%r: after reset" % kw)


def test_import_memslab_does_not_load_the_queue():
    import sys

    names = [n for n in sys.modules if n.startswith("memslab")]
    saved = {n: sys.modules.pop(n) for n in names}  # earlier tests loaded them
    try:
        import memslab

        eq([n for n in sys.modules if n.startswith("memslab._queue")], [], "after import")
        memslab.BlockQueue(memslab.MemSlab(16, 2))
        eq("memslab._queue" in sys.modules, True, "after the first BlockQueue")
        eq("memslab._async" in sys.modules, False, "no asyncio glue")
    finally:
        for n in [n for n in sys.modules if n.startswith("memslab")]:
            del sys.modules[n]
        sys.modules.update(saved)
