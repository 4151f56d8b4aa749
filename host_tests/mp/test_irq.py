"""The hard-IRQ rules, checked under micropython.heap_lock() (what a hard IRQ enforces).

Legal in a hard IRQ: alloc(), free() (also when it hands the block to a waiting
task), num_used/num_free/max_used, views()[h] (views built beforehand) and
slab.buffer[...] writes. Not legal: view(h), alloc_async(), dump().
"""
# memslab-test: small-heap

import sys

if ".frozen" not in sys.path:  # a MICROPYPATH hides the frozen asyncio of the Unix port
    sys.path.append(".frozen")

import micropython

from mptest import eq, slab

COMPILED = True  # run on engine="compiled" too (run.py)

MODES = (
    {},
    {"threadsafe": True},
    {"checked": True},
    {"checked": True, "threadsafe": True},
)


def isr_body(s, views, out):
    """What a hard IRQ handler may do; `out` is a preallocated list (item writes only)."""
    h = s.alloc()
    v = views[h]
    v[4] = 0xA5
    s.buffer[h * s.block_size + 5] = 0x5A
    out[0] = h
    out[1] = s.num_used
    out[2] = s.num_free
    out[3] = s.max_used
    s.free(h)
    out[4] = s.alloc()  # LIFO: the same block again
    out[5] = s.alloc()
    s.free(out[5])
    s.free(out[4])
    out[6] = s.num_used


def test_isr_calls_do_not_allocate():
    for kw in MODES:
        s = slab(16, 4, **kw)
        views = s.views()  # built before "enabling interrupts"
        out = [None] * 7
        micropython.heap_lock()
        try:
            isr_body(s, views, out)
        finally:
            micropython.heap_unlock()
        h = out[0]
        eq(out[1:4], [1, 3, 1], "%r counters in the ISR" % kw)
        eq(out[4], h, "%r LIFO" % kw)
        eq(out[6], 0, "%r all freed" % kw)
        eq(s.max_used, 2, "%r max_used" % kw)
        if not kw.get("checked"):  # checked mode poisons a freed block
            eq(bytes(views[h][4:6]), b"\xa5\x5a", "%r bytes written in the ISR" % kw)


def test_bad_free_under_heap_lock_raises_prebuilt_error():
    for kw in MODES:
        s = slab(16, 2, **kw)
        h = s.alloc()
        s.free(h)
        micropython.heap_lock()
        try:
            s.free(h)
        except ValueError:
            ok = True
        else:
            ok = False
        finally:
            micropython.heap_unlock()
        eq(ok, True, "%r double free raised ValueError with the heap locked" % kw)
        eq(s.num_used, 0, "%r nothing changed" % kw)


def not_in_isr(fn):
    """True if fn() allocates (raises MemoryError with the heap locked)."""
    micropython.heap_lock()
    try:
        fn()
    except MemoryError:
        return True
    finally:
        micropython.heap_unlock()
    return False


def test_view_alloc_async_and_dump_allocate():
    s = slab(16, 2)
    h = s.alloc()
    eq(not_in_isr(lambda: s.view(h)), True, "view() allocates a memoryview")
    eq(not_in_isr(lambda: s.alloc_async()), True, "alloc_async() allocates a coroutine")
    eq(not_in_isr(lambda: s.dump()), True, "dump() allocates")
    s.free(h)


def test_handoff_under_heap_lock_wakes_waiting_task():
    import asyncio

    for kw in MODES:
        s = slab(16, 1, **kw)
        h = s.alloc()
        out = [None, None, None]

        async def main():
            t = asyncio.create_task(s.alloc_async())
            await asyncio.sleep_ms(0)  # t is now queued
            micropython.heap_lock()
            try:
                s.free(h)  # the "ISR": hands h to t
                out[0] = s.alloc()  # cannot steal it
                out[1] = s.num_used
            finally:
                micropython.heap_unlock()
            out[2] = await t

        asyncio.run(main())
        eq(out, [None, 1, h], "%r: alloc in ISR, num_used, what the task got" % kw)
        eq(s._sw[5], 0, "%r no waiter left" % kw)
