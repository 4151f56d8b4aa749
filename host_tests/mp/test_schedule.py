"""micropython.schedule callbacks (every IRQ on an ESP32, soft IRQs everywhere)
calling alloc()/free() while the main code is inside alloc()/free() of the
same slab.

A scheduled callback runs between bytecodes at a jump: inside the python
engine's alloc()/free() (bytecode with branches), never inside viper's
(machine code). micropython.schedule(cb) just before s.alloc() makes the
callback run at the first jump inside that call: the interleaving is the same
on every run. Checked, on both engines, plain/checked/threadsafe: no block
gets two owners, none is lost, the counters add up, and nothing deadlocks
(the Unix port's threadsafe guard is a lock that the callback's own thread holds).
"""
# memslab-test: small-heap

import micropython

import mptest
from mptest import eq

COMPILED = True  # run on engine="compiled" too (run.py)

MODES = ({}, {"checked": True}, {"threadsafe": True}, {"checked": True, "threadsafe": True})


def flush():
    """Give pending callbacks their jump (a loop has one per round)."""
    for _ in range(3):
        pass


def intact(s, owned, what):
    """Counters match the owners; every block is owned once or free once."""
    eq(s.num_used, len(owned), what + ": num_used")
    if len(set(owned)) != len(owned):
        raise AssertionError("%s: a block has two owners: %r" % (what, owned))
    rest = mptest.drain(s)
    eq(sorted(owned + rest), list(range(s.num_blocks)), what + ": each block exactly once")


def test_a_callback_allocs_while_main_allocs():
    for kw in MODES:
        s = mptest.slab(16, 4, **kw)
        got = []
        micropython.schedule(lambda _: got.append(s.alloc()), 0)
        h = s.alloc()
        flush()
        owned = [h] + [g for g in got if g is not None]
        eq(len(got), 1, "%r: the callback ran" % kw)
        intact(s, owned, "%r" % kw)


def test_a_callback_frees_while_main_allocs():
    for kw in MODES:
        s = mptest.slab(16, 4, **kw)
        a, b = s.alloc(), s.alloc()
        micropython.schedule(s.free, b)  # s.free: a plain function, no bound method
        h = s.alloc()
        flush()
        intact(s, [a, h], "%r" % kw)


def test_a_callback_frees_while_main_frees():
    for kw in MODES:
        s = mptest.slab(16, 4, **kw)
        a, b, c = s.alloc(), s.alloc(), s.alloc()
        micropython.schedule(s.free, b)
        s.free(a)
        flush()
        intact(s, [c], "%r" % kw)


def test_a_callback_allocs_while_main_frees():
    for kw in MODES:
        s = mptest.slab(16, 3, **kw)
        a, b, c = s.alloc(), s.alloc(), s.alloc()
        got = []
        micropython.schedule(lambda _: got.append(s.alloc()), 0)
        s.free(b)
        flush()
        owned = [a, c] + [g for g in got if g is not None]
        intact(s, owned, "%r" % kw)
