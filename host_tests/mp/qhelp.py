"""Shared helpers of the BlockQueue tests (test_queue*.py): owners in every
mode, and a check that a queue's links are one sound ring."""

import mptest
from memslab import MemPool
from mptest import eq

MODES = ({}, {"checked": True}, {"threadsafe": True}, {"checked": True, "threadsafe": True})


def pool(**kw):
    kw.setdefault("engine", mptest.ENGINE)
    p = MemPool(((16, 4), (64, 2)), **kw)  # handles 0..3 (16 bytes), 4..5 (64 bytes)
    if mptest.ENGINE == "compiled" and p.slabs[0].engine != "compiled" and not p.slabs[0].checked:
        raise mptest.SkipTest("no compiled pair for this pool")
    return p


def owners(kw):
    """A slab, then a pool, of 6 handles each, in mode kw (one at a time: the
    tests run on a 64 KB heap too)."""
    yield mptest.slab(16, 6, **kw)
    yield pool(**kw)


def take(o):
    return o.alloc(1) if hasattr(o, "slabs") else o.alloc()


def state(o, q):
    """Everything observable about an owner and its queue."""
    return (o.num_used, len(q), bytes(q._s), bytes(o.buffer))


def consistent(q, what):
    """The links form one ring through the sentinel holding len(q) handles,
    every other handle's link is 0; returns the queued handles, oldest first."""
    s, lk = q._s, q._L
    n = s[2]
    got = []
    i = lk[n] - 1
    while i != n:
        if len(got) > n or not 0 <= i < n:
            raise AssertionError("%s: the ring is broken at %d after %r" % (what, i, got))
        got.append(i)
        i = lk[i] - 1
    eq(len(got), len(q), what + ": len(q) and the ring")
    eq(s[0], got[-1] if got else n, what + ": the tail word")
    for h in range(n):
        if h not in got:
            eq(lk[h], 0, what + ": link of %d, not queued" % h)
    return got
