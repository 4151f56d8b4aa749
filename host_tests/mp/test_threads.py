"""threadsafe=True: one slab shared by several GIL-less threads (Unix port, RP2040 cores).

Each owner stamps its id into every word of its block and re-checks the stamp
before freeing: a block handed to two threads at once shows up as a foreign
stamp. Afterwards every block must be free exactly once.
"""

import time

import mptest
from mptest import eq

THREADS = 4
ROUNDS = 3000


class SkipTest(Exception):
    pass


def _thread_or_skip():
    try:
        import _thread
    except ImportError:
        raise SkipTest("no _thread on this port")
    return _thread


def worker(s, me, rounds, stats, done):
    """alloc/stamp/verify/free `rounds` times; stats[me] = [cycles, misses, clashes].

    An exception (a corrupted slab raises) is stored in stats[me] instead.
    """
    try:
        _work(s, me, rounds, stats)
    except Exception as e:  # noqa: BLE001 - reported by the caller
        stats[me] = e
    done[me] = 1


def _work(s, me, rounds, stats):
    buf = s.buffer
    bs = s.block_size
    mine = [0, 0, 0]
    held = []
    for i in range(rounds):
        h = s.alloc()
        if h is None:
            mine[1] += 1
        else:
            o = h * bs
            for k in range(bs):
                buf[o + k] = me
            held.append(h)
        # hold up to two blocks, release the oldest: owners overlap in time
        if len(held) > (i & 1) or (h is None and held):
            b = held.pop(0)
            o = b * bs
            for k in range(bs):
                if buf[o + k] != me:
                    mine[2] += 1
                    break
            s.free(b)
            mine[0] += 1
    for b in held:
        s.free(b)
        mine[0] += 1
    stats[me] = mine


def stress(threadsafe, engine, threads=THREADS, rounds=ROUNDS, blocks=5, timeout_ms=60000):
    """Run the stress; return (stats per thread, slab, finished)."""
    _thread = _thread_or_skip()
    s = mptest.MemSlab(16, blocks, engine=engine, threadsafe=threadsafe)
    stats = [None] * (threads + 1)
    done = [0] * (threads + 1)
    for t in range(1, threads + 1):
        _thread.start_new_thread(worker, (s, t, rounds, stats, done))
    t0 = time.ticks_ms()
    while sum(done) < threads and time.ticks_diff(time.ticks_ms(), t0) < timeout_ms:
        time.sleep_ms(5)
    return stats[1:], s, sum(done) == threads


def all_free_once(s):
    """Every block on the free list once: walk it, then allocate them all."""
    chain, more, end = s._walk(bytearray((s.num_blocks + 7) >> 3), s.num_blocks)
    eq((end, more), ("end", 0), "free list ends cleanly")
    eq(sorted(chain), list(range(s.num_blocks)), "free list holds each block once")
    got = [s.alloc() for _ in range(s.num_blocks)]
    eq(sorted(got), list(range(s.num_blocks)), "each block allocatable once")
    eq(s.alloc(), None, "and no more")


def test_threadsafe_stress():
    stats, s, finished = stress(True, mptest.ENGINE)
    eq(finished, True, "all threads finished")
    for t, st in enumerate(stats):
        if not isinstance(st, list):
            raise AssertionError("thread %d raised %r" % (t + 1, st))
        cycles, misses, clashes = st
        eq(clashes, 0, "thread %d saw another owner's stamp in its block" % (t + 1))
        eq(cycles + misses, ROUNDS, "thread %d: every round allocated or missed" % (t + 1))
        if not cycles:
            raise AssertionError("thread %d never got a block" % (t + 1))
    eq(s.num_used, 0, "num_used")
    if s.max_used > s.num_blocks:
        raise AssertionError("max_used %d > blocks" % s.max_used)
    all_free_once(s)


def test_threadsafe_stress_checked():
    _thread = _thread_or_skip()
    s = mptest.MemSlab(16, 5, engine=mptest.ENGINE, threadsafe=True, checked=True)
    done = [0] * 5
    stats = [None] * 5

    # checked mode: free() poisons the block, alloc() verifies the poison, so a
    # write by a stale owner raises SlabCorruptedError in someone's alloc().
    for t in range(1, 5):
        _thread.start_new_thread(worker, (s, t, ROUNDS // 2, stats, done))
    t0 = time.ticks_ms()
    while sum(done) < 4 and time.ticks_diff(time.ticks_ms(), t0) < 60000:
        time.sleep_ms(5)
    eq(sum(done), 4, "finished")
    for t in range(1, 5):
        if not isinstance(stats[t], list):
            raise AssertionError("thread %d: %r" % (t, stats[t]))
        eq(stats[t][2], 0, "clashes in thread %d" % t)
    eq(s.num_used, 0, "num_used")
    all_free_once(s)
