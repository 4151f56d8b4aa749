"""memslab benchmark: runs inside MicroPython (Unix port or a board), prints one JSON line.

    micropython -X heapsize=8M bench.py [quick] [pairs] [heap] [messages] [scaling]
    (on a board, through mpremote: sys.argv = ["mp_bench", "board", ...]; and
    pairs=N repeats=N messages=N to set the counts)

Every number is measured in this one process, side by side:
  pairs      alloc+free pair time of memslab (each engine, via locals, the viper
             fallback, threadsafe, checked), of the list pool users write by
             hand, of a fresh bytearray per message, of two empty closures (the
             call floor) and of an empty loop; put+get pair time of a
             BlockQueue beside the hand-written ring it replaces
  heap       heap bytes per block at block sizes 16, 64, 256 (heap_per_block)
  slab_heap  heap one slab takes beyond its blocks, and its build time, per mode
  queue_heap heap one BlockQueue over a 64-block slab takes, and its build time
  messages   GC collections, bytes allocated and the longest single "take a
             block" pause over many messages, plus a heap_lock() run for the slab
  scaling    pair time with half of 16 / 1,024 / 65,536 blocks held in a FIFO ring
Timings are the best of several repeats, interleaved (repeat r runs every row once)
so a busy machine slows all rows alike; each ratio to the list pool is the median
of the per-round ratios. tools/bench.py turns the JSON into tables.
MicroPython only and board-friendly: a section that does not fit a board's heap
reports MemoryError instead of failing the run.
"""

import gc
import json
import micropython
import sys
import time
from array import array

from memslab import BlockQueue, MemPool, MemSlab

QUICK = "quick" in sys.argv
# Many short runs, not a few long ones: on a busy host the best of 40 runs of
# 20,000 pairs comes out the same from run to run, the best of 7 of 200,000 did not.
PAIRS = 5_000 if QUICK else 20_000  # iterations per timed run
REPEATS = 2 if QUICK else 40
MESSAGES = 5_000 if QUICK else 200_000
MESSAGE_BYTES = 64
HEAP_BLOCKS = 64
HEAP_SIZES = (16, 64, 256)
SCALING = (16, 1024, 65536)
# "board": tools/bench_board.py on a board through mpremote. A Pico runs ~100x slower
# than the host and gc.mem_free() walks its whole heap (~9 ms on a Pico), so fewer and
# shorter runs; "pairs=N", "repeats=N", "messages=N" set them outright (a real board
# has time for more than the emulated one).
BOARD = "board" in sys.argv
if BOARD:
    PAIRS, REPEATS, MESSAGES = (200, 2, 600) if QUICK else (500, 3, 6_000)
_SET = dict(a.split("=", 1) for a in sys.argv if "=" in a)
PAIRS = int(_SET.get("pairs", PAIRS))
REPEATS = int(_SET.get("repeats", REPEATS))
MESSAGES = int(_SET.get("messages", MESSAGES))
# slab_heap: the median of HEAP_RUNS heap measurements, the best of BUILD_RUNS builds
HEAP_RUNS, BUILD_RUNS = (3, 3) if BOARD else (5, 20)
# messages: gc.mem_free() looks for a collection every GC_EVERY messages; 200 messages
# of 64 bytes allocate ~16 KB, far less than a board's free heap, so no interval holds
# two collections and the count stays exact
GC_EVERY = 200 if BOARD else 1


def engines():
    try:
        viper = MemSlab(16, 1, engine="viper").engine == "viper"
    except Exception:  # noqa: BLE001 - ValueError (no native emitter) or anything else
        viper = False
    return ("viper", "python") if viper else ("python",)


ENGINES = engines()
# Every byte ever allocated (MICROPY_MEM_STATS; not on most boards): None without it.
HAS_MEM_TOTAL = hasattr(micropython, "mem_total")
HAS_HEAP_LOCK = hasattr(micropython, "heap_lock")
now = time.ticks_us
diff = time.ticks_diff


def mem_total():
    return micropython.mem_total() if HAS_MEM_TOTAL else 0


# -- alloc+free pairs: each runner takes (subject, n) and returns microseconds --


def run_slab(s, n):
    t = now()
    for _ in range(n):
        h = s.alloc()
        s.free(h)
    return diff(now(), t)


def run_locals(s, n):
    """The hot-loop idiom: alloc and free held in locals (no attribute lookups)."""
    alloc = s.alloc
    free = s.free
    t = now()
    for _ in range(n):
        h = alloc()
        free(h)
    return diff(now(), t)


def run_pool(pool, n):
    t = now()
    for _ in range(n):
        b = pool.pop()
        pool.append(b)
    return diff(now(), t)


def run_pool_locals(pool, n):
    """The list pool with pop and append held in locals: what its two method
    lookups cost, beside the slab's (a list's lookup is a C type's, cheaper
    than an instance attribute's)."""
    pop = pool.pop
    append = pool.append
    t = now()
    for _ in range(n):
        b = pop()
        append(b)
    return diff(now(), t)


def run_mempool(pool, n):
    """A MemPool pair for a 40-byte message: the 64-byte class of POOL_CLASSES."""
    t = now()
    for _ in range(n):
        h = pool.alloc(40)
        pool.free(h)
    return diff(now(), t)


POOL_CLASSES = ((16, 32), (64, 16), (256, 4))  # the README's three message sizes


def run_queue(subject, n):
    """A BlockQueue pair: put a block's handle, get it back (nobody waiting)."""
    q, h = subject
    t = now()
    for _ in range(n):
        q.put(h)
        h = q.get()
    return diff(now(), t)


def run_queue_locals(subject, n):
    q, h = subject
    put = q.put
    get = q.get
    t = now()
    for _ in range(n):
        put(h)
        h = get()
    return diff(now(), t)


def run_hand_ring(subject, n):
    """The FIFO the README's pattern wrote by hand before BlockQueue: an
    array('i') ring of 8 block indices and [written, read] counters, inline in
    the loop (no calls), without its ThreadSafeFlag.set() and without checks."""
    ring, ctr, h = subject
    t = now()
    for _ in range(n):
        ring[ctr[0] % 8] = h  # the IRQ's half
        ctr[0] += 1
        if ctr[1] != ctr[0]:  # the task's half
            h = ring[ctr[1] % 8]
            ctr[1] += 1
    return diff(now(), t)


def queue_of(engine, **kw):
    """(queue, an allocated handle) over a MemSlab(16, 8)."""
    s = MemSlab(16, 8, engine=engine, **kw)
    return (BlockQueue(s), s.alloc())


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


def bare_python_pair():
    """The python engine's floor: bytecode closures that only pop and push the
    in-block free list over the same uctypes views, without a single check
    (not shippable: a wrong free(h) would corrupt the slab)."""
    from memslab._errors import words

    s = MemSlab(16, 8, engine="python")
    st = words(s._st, 8)
    links = words(s.buffer, 32)

    def alloc():
        h = st[0]
        if h == st[3]:
            return None
        st[0] = links[h * 4]
        st[1] += 1
        return h

    def free(h):
        links[h * 4] = st[0]
        st[0] = h
        st[1] -= 1

    c = _Calls()
    c.alloc = alloc
    c.free = free
    c.keep = s
    return c


def plain_viper(**kw):
    """A viper slab built as if the fast pair's checks had failed (its fallback)."""
    from memslab import _viper

    _viper.FAST = False
    try:
        return MemSlab(16, 8, engine="viper", **kw)
    finally:
        _viper.FAST = True


def pair_rows():
    rows = [("list pool", run_pool, [bytearray(16) for _ in range(8)])]
    rows.append(("list pool via locals", run_pool_locals, [bytearray(16) for _ in range(8)]))
    for engine in ENGINES:
        rows.append((engine, run_slab, MemSlab(16, 8, engine=engine)))
    for engine in ENGINES:
        rows.append((engine + " via locals", run_locals, MemSlab(16, 8, engine=engine)))
    if "viper" in ENGINES:
        rows.append(("compiled", run_slab, MemSlab(16, 8, engine="compiled")))
        rows.append(("compiled via locals", run_locals, MemSlab(16, 8, engine="compiled")))
        rows.append(("viper fallback", run_slab, plain_viper()))
    for engine in ENGINES:
        rows.append(
            (engine + " threadsafe", run_slab, MemSlab(16, 8, engine=engine, threadsafe=True))
        )
        rows.append((engine + " checked", run_slab, MemSlab(16, 8, engine=engine, checked=True)))
    rows.append(("fresh bytearray", run_fresh, 16))
    for engine in ENGINES:
        rows.append((engine + " MemPool(40)", run_mempool, MemPool(POOL_CLASSES, engine=engine)))
    rows.append(("fresh bytearray(40)", run_fresh, 40))
    for engine in ENGINES:
        rows.append((engine + " BlockQueue", run_queue, queue_of(engine)))
    for engine in ENGINES:
        rows.append((engine + " BlockQueue via locals", run_queue_locals, queue_of(engine)))
    for engine in ENGINES:
        rows.append(
            (engine + " BlockQueue threadsafe", run_queue, queue_of(engine, threadsafe=True))
        )
        rows.append((engine + " BlockQueue checked", run_queue, queue_of(engine, checked=True)))
    rows.append(("hand-written ring", run_hand_ring, (array("i", [0] * 8), array("i", [0, 0]), 0)))
    for engine in ENGINES:
        rows.append((engine + " call floor", run_slab, empty_closures(engine == "viper")))
    if "viper" in ENGINES:
        rows.append(("viper call floor via locals", run_locals, empty_closures(True)))
    rows.append(("python bare pair", run_slab, bare_python_pair()))
    rows.append(("empty loop", run_empty, None))
    return rows


def timed_rounds(rows, n, repeats):
    """{name: [microseconds of each of `repeats` interleaved rounds]}."""
    times = {name: [] for name, _, _ in rows}
    for _ in range(repeats):
        for name, run, subject in rows:
            gc.collect()
            times[name].append(run(subject, n))
    return times


def median(values):
    v = sorted(values)
    k = len(v)
    return v[k // 2] if k % 2 else (v[k // 2 - 1] + v[k // 2]) / 2


def pairs():
    """ns per pair: the best round, minus the empty loop's best. The ratio to the
    list pool: the median over the rounds of (row / list pool in the same round),
    so a round where the machine was busy, or one lucky baseline, moves it little
    (a ratio of two bests moved by several per cent from run to run)."""
    rows = pair_rows()
    times = timed_rounds(rows, PAIRS, REPEATS)
    floor = min(times["empty loop"])
    pool = times["list pool"]
    out = []
    for name, _, _ in rows:
        us = min(times[name])
        net = (us - floor) * 1000 / PAIRS
        per_round = [(t - floor) / (p - floor) for t, p in zip(times[name], pool) if p > floor]
        ratio = median(per_round) if per_round and name != "empty loop" else None
        out.append(
            {
                "name": name,
                "raw_ns": round(us * 1000 / PAIRS, 1),
                "ns": round(net, 1),
                "ratio": round(ratio, 2) if ratio is not None else None,
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


def fresh_allocated(size):
    """Bytes one bytearray(size) allocates: mem_total over 1,000 calls."""
    gc.collect()
    t = micropython.mem_total()
    for _ in range(1000):
        b = bytearray(size)  # noqa: F841
    return (micropython.mem_total() - t + 500) // 1000


def fresh_heap(size):
    """Heap one bytearray(size) takes: mem_alloc over 100 calls with the GC off."""
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(100):
            b = bytearray(size)  # noqa: F841
        used = gc.mem_alloc() - before
    finally:
        gc.enable()
    return (used + 50) // 100


def heap_per_block():
    out = []
    n = HEAP_BLOCKS
    for size in HEAP_SIZES:
        slab = heap_of(lambda size=size: MemSlab(size, n)) / n
        pool = heap_of(lambda size=size: [bytearray(size) for _ in range(n)]) / n
        heap = fresh_heap(size)
        fresh = fresh_allocated(size) if HAS_MEM_TOTAL else heap
        out.append(
            {
                "block_size": size,
                "blocks": n,
                "memslab": round(slab, 1),
                "list pool": round(pool, 1),
                "fresh bytearray": fresh,
                "fresh bytearray heap": heap,
                "fresh_method": "mem_total" if HAS_MEM_TOTAL else "mem_alloc",
                "overhead": {
                    "memslab": round(slab - size, 1),
                    "list pool": round(pool - size, 1),
                    "fresh bytearray": fresh - size,
                },
            }
        )
    return out


# -- heap per slab beyond its blocks, and build time --


def slab_modes():
    """(name, engine, kwargs, force the plain viper pair) per mode measured."""
    out = []
    for engine in ENGINES:
        out.append((engine, engine, {}, False))
        out.append((engine + " checked", engine, {"checked": True}, False))
        if engine == "viper":
            out.append(("viper fallback", engine, {}, True))
            out.append(("compiled", "compiled", {}, False))
        out.append((engine + " threadsafe", engine, {"threadsafe": True}, False))
    return out


def slab_heap():
    """Heap one MemSlab(16, 64) over a caller's buffer takes, median of 5 (over a
    caller's buffer all of it is beyond the blocks), and the best of 20 build times."""
    import memslab

    v = memslab._viper  # None where viper does not load
    buf = bytearray(16 * 64)
    out = []
    for name, engine, kw, plain in slab_modes():
        if plain:
            v.FAST = False
        try:
            sizes = sorted(
                heap_of(lambda e=engine, k=kw: MemSlab(16, 64, buf, engine=e, **k))
                for _ in range(HEAP_RUNS)
            )
            best = None
            for _ in range(BUILD_RUNS):
                gc.collect()
                t = now()
                MemSlab(16, 64, buf, engine=engine, **kw)
                us = diff(now(), t)
                best = us if best is None or us < best else best
            path = v.PATH if engine == "viper" else None
            if engine == "compiled":  # its module is dropped after each build
                import memslab

                why = memslab.COMPILED_ERROR
                path = "compiled" if why is None else "viper: " + why
        finally:
            if plain:
                v.FAST = True
        out.append({"name": name, "bytes": median(sizes), "build_us": best, "path": path})
    blocks = sum(bs * n for bs, n in POOL_CLASSES)
    for engine in ENGINES:  # a pool allocates its own buffer: the blocks are subtracted
        sizes = [
            heap_of(lambda e=engine: MemPool(POOL_CLASSES, engine=e)) for _ in range(HEAP_RUNS)
        ]
        out.append(
            {
                "name": "MemPool %s, 3 classes" % engine,
                "bytes": median(sizes) - blocks,
                "build_us": 0,
                "path": None,
            }
        )
    return out


# -- heap per BlockQueue --


def queue_heap():
    """Heap one BlockQueue over a MemSlab(16, 64) takes (median of 5; its module
    is loaded by then: see the footprint for that) and the best of 20 build times."""
    out = []
    for engine in ENGINES:
        for name, kw in (("", {}), (" threadsafe", {"threadsafe": True})):
            s = MemSlab(16, 64, engine=engine, **kw)
            sizes = sorted(heap_of(lambda s=s: BlockQueue(s)) for _ in range(5))
            best = None
            for _ in range(20):
                gc.collect()
                t = now()
                BlockQueue(s)
                us = diff(now(), t)
                best = us if best is None or us < best else best
            out.append(
                {
                    "name": engine + name,
                    "handles": 64,
                    "bytes": sizes[2],
                    "build_us": best,
                    "pair": BlockQueue(s).engine,
                }
            )
    return out


# -- many messages: collections, allocation, longest pause --


def message_loop(take, use, n):
    """n messages: x = take() (timed alone), then use(x, i) writes and gives it back.

    Returns (longest take in us, GC collections seen, bytes allocated).
    """
    longest = 0
    collections = 0
    free_before = gc.mem_free()
    total = mem_total()
    for i in range(n):
        t = now()
        x = take()
        d = diff(now(), t)
        if d > longest:
            longest = d
        use(x, i)
        if i % GC_EVERY == 0 or i == n - 1:
            f = gc.mem_free()
            if f > free_before:  # free memory only grows when a collection ran
                collections += 1
            free_before = f
    return longest, collections, mem_total() - total


def messages_slab(s, n, size):
    buf = s.buffer
    free = s.free

    def use(h, i):
        buf[h * size] = i & 0xFF
        free(h)

    return message_loop(s.alloc, use, n)


def messages_pool(pool, n, size):
    give = pool.append

    def use(b, i):
        b[0] = i & 0xFF
        give(b)

    return message_loop(pool.pop, use, n)


def messages_fresh(_, n, size):
    def use(b, i):
        b[0] = i & 0xFF  # dropped: the collector reclaims it

    return message_loop(lambda: bytearray(size), use, n)


def heap_locked_run(s, n, size):
    """The slab's message loop with the heap locked: raises if anything allocates."""
    buf = s.buffer
    micropython.heap_lock()
    try:
        for i in range(n):
            h = s.alloc()
            buf[h * size] = i & 0xFF
            s.free(h)
    finally:
        micropython.heap_unlock()
    return True


def messages():
    # tools/bench.py runs this section in a board-sized heap (-X heapsize=192K).
    size = MESSAGE_BYTES
    rows = [("memslab " + e, messages_slab, MemSlab(size, 8, engine=e)) for e in ENGINES]
    rows.append(("list pool", messages_pool, [bytearray(size) for _ in range(8)]))
    rows.append(("fresh bytearray", messages_fresh, None))
    out = []
    for name, run, subject in rows:
        gc.collect()
        longest, collections, allocated = run(subject, MESSAGES, size)
        row = {
            "name": name,
            "messages": MESSAGES,
            "block_size": size,
            "collections": collections,
            "bytes_allocated": allocated if HAS_MEM_TOTAL else None,
            "longest_pause_us": longest,
        }
        if name.startswith("memslab"):
            row["heap_locked_ok"] = (
                heap_locked_run(subject, MESSAGES, size) if HAS_HEAP_LOCK else None
            )
        out.append(row)
    return out


# -- scaling: half the blocks held in a FIFO ring, so every block is used --


def run_ring(subject, n):
    s, ring = subject
    size = len(ring)
    j = 0
    t = now()
    for _ in range(n):
        h = s.alloc()
        s.free(ring[j])  # the oldest block held
        ring[j] = h
        j += 1
        if j == size:
            j = 0
    return diff(now(), t)


def run_ring_bookkeeping(subject, n):
    """The ring's own work without the slab calls (reported, not subtracted)."""
    _, ring = subject
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


def ring_of(blocks, engine):
    """(slab, ring): a MemSlab(16, blocks) with blocks // 2 of them held in the ring."""
    s = MemSlab(16, blocks, engine=engine)
    ring = [0] * (blocks // 2)
    for i in range(len(ring)):
        ring[i] = s.alloc()
    return (s, ring)


def scaling():
    rows = [("empty loop", run_empty, None)]
    failed = {}
    for engine in ENGINES:
        rows.append(((engine, "ring"), run_ring_bookkeeping, ring_of(16, engine)))
        for blocks in SCALING:
            try:
                rows.append(((engine, blocks), run_ring, ring_of(blocks, engine)))
            except MemoryError:  # 65,536 blocks of 16 bytes do not fit a board
                failed[(engine, blocks)] = "MemoryError"
                gc.collect()
    best = {name: min(t) for name, t in timed_rounds(rows, PAIRS, REPEATS).items()}
    floor = best["empty loop"]
    out = []
    for engine in ENGINES:
        ring_ns = round((best[(engine, "ring")] - floor) * 1000 / PAIRS, 1)
        for blocks in SCALING:
            row = {"engine": engine, "blocks": blocks, "held": blocks // 2, "ring_ns": ring_ns}
            us = best.get((engine, blocks))
            if us is None:
                row.update(raw_ns=None, ns=None, error=failed[(engine, blocks)])
            else:
                row.update(
                    raw_ns=round(us * 1000 / PAIRS, 1), ns=round((us - floor) * 1000 / PAIRS, 1)
                )
            out.append(row)
    return out


def version():
    impl = sys.implementation
    v = impl.version
    text = ".".join(str(x) for x in v[:3])
    if len(v) > 3 and v[3]:
        text += "-" + v[3]
    return {
        "sys_version": sys.version,
        "implementation": impl.name,
        "implementation_version": text,
        "machine": getattr(impl, "_machine", ""),
        "build": getattr(impl, "_build", ""),
        "platform": sys.platform,
    }


def cpu_hz():
    """machine.freq() where the port has it (stm32 gives a tuple: its first is the CPU)."""
    try:
        import machine

        hz = machine.freq()
    except (ImportError, AttributeError):  # the Unix port's machine has no freq()
        return None
    return hz[0] if isinstance(hz, tuple) else hz


SECTIONS = {
    "pairs": pairs,
    "heap_per_block": heap_per_block,
    "slab_heap": slab_heap,
    "queue_heap": queue_heap,
    "messages": messages,
    "scaling": scaling,
}
ALIASES = {"heap": "heap_per_block"}


def main():
    result = {
        "version": version(),
        "engines": ENGINES,
        "default_engine": MemSlab(4, 1).engine,
        "pairs_per_run": PAIRS,
        "repeats": REPEATS,
        "messages_per_run": MESSAGES,
        "quick": QUICK,
        "mem_total": HAS_MEM_TOTAL,
        "heap_kb": (gc.mem_alloc() + gc.mem_free()) // 1024,
        "board": BOARD,
        "cpu_hz": cpu_hz(),
        "gc_check_every": GC_EVERY,
        "memslab_file": getattr(sys.modules["memslab"], "__file__", None),
    }
    wanted = [ALIASES.get(a, a) for a in sys.argv[1:]]
    sections = [s for s in SECTIONS if s in wanted] or list(SECTIONS)
    for name in sections:
        if BOARD:
            print("# %s" % name)  # progress, on the host's terminal
        result[name] = SECTIONS[name]()
        gc.collect()
    print(json.dumps(result))


main()
