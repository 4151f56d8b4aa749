"""memslab benchmark: runs inside MicroPython (Unix port or a board), prints one JSON line.

    micropython -X heapsize=8M bench.py [quick] [pairs] [heap] [messages] [scaling]

Every number is measured in this one process, side by side:
  pairs      alloc+free pair time of memslab (each engine, threadsafe, checked),
             of the list pool users write by hand, of a fresh bytearray per
             message, of two empty closures (the call floor) and of an empty loop
  heap       heap bytes per block at block sizes 16, 64, 256
  messages   GC collections, bytes allocated and the longest single "take a
             block" pause over many messages, plus a heap_lock() run for the slab
  scaling    pair time with half of 16 / 1,024 / 65,536 blocks held in a FIFO ring
Timings are the best of several repeats, interleaved (repeat r runs every row once)
so a busy machine slows all rows alike. tools/bench.py turns the JSON into tables.
"""

import gc
import json
import micropython
import sys
import time

from memslab import MemSlab

QUICK = "quick" in sys.argv
PAIRS = 5_000 if QUICK else 200_000  # iterations per timed run
REPEATS = 2 if QUICK else 7
MESSAGES = 5_000 if QUICK else 200_000
SCALING = (16, 1024, 65536)


def engines():
    try:
        MemSlab(16, 1, engine="viper")
        return ("viper", "python")
    except ValueError:  # no native emitter on this port
        return ("python",)


ENGINES = engines()
# Every byte ever allocated (MICROPY_MEM_STATS); without it, 0 (the row says n/a).
mem_total = getattr(micropython, "mem_total", lambda: 0)
now = time.ticks_us
diff = time.ticks_diff


# -- alloc+free pairs: each runner takes (subject, n) and returns microseconds --


def run_slab(s, n):
    t = now()
    for _ in range(n):
        h = s.alloc()
        s.free(h)
    return diff(now(), t)


def run_pool(pool, n):
    t = now()
    for _ in range(n):
        b = pool.pop()
        pool.append(b)
    return diff(now(), t)


def run_fresh(size, n):
    t = now()
    for _ in range(n):
        b = bytearray(size)  # noqa: F841 - the allocation is what is measured
    return diff(now(), t)


def run_empty(_, n):
    t = now()
    for _ in range(n):
        pass
    return diff(now(), t)


class _Calls:
    """Two do-nothing closures set on an instance, called like slab.alloc/free."""


def empty_closures(viper):
    """The call floor: what calling two per-instance closures costs, bodies empty."""
    cell = range(1)
    if viper:
        alloc, free = _viper_empties(cell)
    else:

        def alloc():
            return cell[0]

        def free(h):
            return None

    c = _Calls()
    c.alloc = alloc
    c.free = free
    return c


def _viper_empties(cell):
    # Built by exec so this file still imports on a port without a native emitter.
    scope = {"cell": cell, "micropython": micropython}
    exec(  # noqa: S102 - fixed source text, no input
        "def make(cell):\n"
        "    @micropython.viper\n"
        "    def alloc():\n"
        "        return cell[0]\n"
        "    @micropython.viper\n"
        "    def free(h):\n"
        "        return None\n"
        "    return alloc, free\n",
        scope,
    )
    return scope["make"](cell)


def pair_rows():
    rows = [("list pool", run_pool, [bytearray(16) for _ in range(8)])]
    for engine in ENGINES:
        rows.append((engine, run_slab, MemSlab(16, 8, engine=engine)))
    for engine in ENGINES:
        rows.append(
            (engine + " threadsafe", run_slab, MemSlab(16, 8, engine=engine, threadsafe=True))
        )
        rows.append((engine + " checked", run_slab, MemSlab(16, 8, engine=engine, checked=True)))
    rows.append(("fresh bytearray", run_fresh, 16))
    for engine in ENGINES:
        floor = engine + " call floor"
        rows.append((floor, run_slab, empty_closures(engine == "viper")))
    rows.append(("empty loop", run_empty, None))
    return rows


def best_of(rows, n, repeats):
    """{name: best microseconds} over `repeats` interleaved rounds."""
    best = {}
    for _ in range(repeats):
        for name, run, subject in rows:
            gc.collect()
            us = run(subject, n)
            if name not in best or us < best[name]:
                best[name] = us
    return best


def pairs():
    rows = pair_rows()
    best = best_of(rows, PAIRS, REPEATS)
    floor = best["empty loop"]
    pool_ns = (best["list pool"] - floor) * 1000 / PAIRS
    out = []
    for name, _, _ in rows:
        us = best[name]
        raw = us * 1000 / PAIRS
        net = (us - floor) * 1000 / PAIRS
        out.append(
            {
                "name": name,
                "raw_ns": round(raw, 1),
                "ns": round(net, 1),
                "ratio": round(net / pool_ns, 2) if name != "empty loop" else None,
            }
        )
    return out


# -- heap bytes per block --


def heap_of(make):
    gc.collect()
    before = gc.mem_alloc()
    keep = make()
    gc.collect()
    used = gc.mem_alloc() - before
    del keep
    return used


def per_message_bytes(size):
    """Bytes allocated by one bytearray(size): gc off, mem_alloc delta over 100."""
    gc.collect()
    gc.disable()
    keep = [None] * 100
    before = gc.mem_alloc()
    for i in range(100):
        keep[i] = bytearray(size)
    used = gc.mem_alloc() - before
    gc.enable()
    del keep
    return used // 100


def heap_per_block():
    out = []
    n = 64
    for size in (16, 64, 256):
        slab = heap_of(lambda size=size: MemSlab(size, n)) / n
        pool = heap_of(lambda size=size: [bytearray(size) for _ in range(n)]) / n
        fresh = per_message_bytes(size)
        out.append(
            {
                "block_size": size,
                "blocks": n,
                "memslab": round(slab, 1),
                "list pool": round(pool, 1),
                "fresh bytearray": fresh,
            }
        )
    return out


# -- many messages: collections, allocation, longest pause --


def messages_slab(s, n, size):
    buf = s.buffer
    longest = 0
    collections = 0
    free_before = gc.mem_free()
    total = mem_total()
    for i in range(n):
        t = now()
        h = s.alloc()
        d = diff(now(), t)
        if d > longest:
            longest = d
        buf[h * size] = i & 0xFF
        s.free(h)
        f = gc.mem_free()
        if f > free_before:  # free memory only grows when a collection ran
            collections += 1
        free_before = f
    return longest, collections, mem_total() - total


def messages_pool(pool, n, size):
    longest = 0
    collections = 0
    free_before = gc.mem_free()
    total = mem_total()
    for i in range(n):
        t = now()
        b = pool.pop()
        d = diff(now(), t)
        if d > longest:
            longest = d
        b[0] = i & 0xFF
        pool.append(b)
        f = gc.mem_free()
        if f > free_before:
            collections += 1
        free_before = f
    return longest, collections, mem_total() - total


def messages_fresh(_, n, size):
    longest = 0
    collections = 0
    free_before = gc.mem_free()
    total = mem_total()
    for i in range(n):
        t = now()
        b = bytearray(size)
        d = diff(now(), t)
        if d > longest:
            longest = d
        b[0] = i & 0xFF
        f = gc.mem_free()
        if f > free_before:
            collections += 1
        free_before = f
    return longest, collections, mem_total() - total


def heap_locked_run(s, n):
    """The slab's message loop with the heap locked: raises if anything allocates."""
    buf = s.buffer
    micropython.heap_lock()
    try:
        for i in range(n):
            h = s.alloc()
            buf[h * 64] = i & 0xFF
            s.free(h)
    finally:
        micropython.heap_unlock()
    return True


def messages():
    # tools/bench.py runs this section in a board-sized heap (-X heapsize=192K).
    rows = [("memslab " + e, messages_slab, MemSlab(64, 8, engine=e)) for e in ENGINES]
    rows.append(("list pool", messages_pool, [bytearray(64) for _ in range(8)]))
    rows.append(("fresh bytearray", messages_fresh, None))
    out = []
    for name, run, subject in rows:
        gc.collect()
        longest, collections, allocated = run(subject, MESSAGES, 64)
        row = {"name": name, "messages": MESSAGES, "longest_pause_us": longest}
        row["collections"] = collections
        row["bytes_allocated"] = allocated
        if name.startswith("memslab"):
            row["heap_locked_ok"] = heap_locked_run(subject, MESSAGES)
        out.append(row)
    return out


# -- scaling: half the blocks held in a FIFO ring, so every block is used --


def run_ring(s, n):
    ring = s.ring
    size = len(ring)
    j = 0
    t = now()
    for _ in range(n):
        h = s.alloc()
        s.free(ring[j])
        ring[j] = h
        j += 1
        if j == size:
            j = 0
    return diff(now(), t)


def run_ring_floor(s, n):
    """The ring bookkeeping alone (no slab calls), subtracted from run_ring."""
    ring = s.ring
    size = len(ring)
    j = 0
    t = now()
    for _ in range(n):
        h = ring[j]
        ring[j] = h
        j += 1
        if j == size:
            j = 0
    return diff(now(), t)


class _Ring:
    def __init__(self, blocks, engine):
        self.slab = MemSlab(16, blocks, engine=engine)
        self.ring = [self.slab.alloc() for _ in range(blocks // 2)]
        self.alloc = self.slab.alloc
        self.free = self.slab.free


def scaling():
    out = []
    for engine in ENGINES:
        rows = [("floor", run_ring_floor, _Ring(16, engine))]
        for blocks in SCALING:
            rows.append((blocks, run_ring, _Ring(blocks, engine)))
        best = best_of(rows, PAIRS, REPEATS)
        floor = best.pop("floor")
        for blocks, us in best.items():
            out.append(
                {"engine": engine, "blocks": blocks, "ns": round((us - floor) * 1000 / PAIRS, 1)}
            )
        del rows
        gc.collect()
    return out


def main():
    result = {
        "micropython": sys.version,
        "implementation": "%s %s %s"
        % (
            sys.implementation.name,
            ".".join(str(x) for x in sys.implementation.version[:3]),
            getattr(sys.implementation, "_machine", ""),
        ),
        "platform": sys.platform,
        "engines": ENGINES,
        "default_engine": MemSlab(4, 1).engine,
        "pairs_per_run": PAIRS,
        "repeats": REPEATS,
        "quick": QUICK,
    }
    result["heap_kb"] = (gc.mem_alloc() + gc.mem_free()) // 1024
    sections = [a for a in sys.argv[1:] if a in SECTIONS] or list(SECTIONS)
    for name in sections:
        result[name] = SECTIONS[name]()
    print(json.dumps(result))


SECTIONS = {"pairs": pairs, "heap": heap_per_block, "messages": messages, "scaling": scaling}


main()
