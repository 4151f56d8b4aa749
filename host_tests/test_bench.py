"""`make bench` in --quick mode: every table is produced, from real runs.

Behaviour only (no wall-clock limits): the slab rows must allocate nothing and
survive heap_lock(), fresh allocation must allocate, all rows must be there.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PAIR_ROWS = [
    "list pool",
    "list pool via locals",
    "viper",
    "python",
    "viper via locals",
    "python via locals",
    "compiled",
    "compiled via locals",
    "viper fallback",
    "viper threadsafe",
    "viper checked",
    "python threadsafe",
    "python checked",
    "fresh bytearray",
    "viper MemPool(40)",
    "python MemPool(40)",
    "fresh bytearray(40)",
    "viper BlockQueue",
    "python BlockQueue",
    "viper BlockQueue via locals",
    "python BlockQueue via locals",
    "viper BlockQueue threadsafe",
    "viper BlockQueue checked",
    "python BlockQueue threadsafe",
    "python BlockQueue checked",
    "hand-written ring",
    "viper call floor via locals",
    "empty loop",
]


def test_quick_bench_writes_every_table(tmp_path):
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bench.py"), "--quick", "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads((tmp_path / "bench.json").read_text())
    assert result["version"]["implementation"] == "micropython"
    assert "MicroPython" in result["version"]["sys_version"]
    assert result["engines"] == ["viper", "python"]
    assert (result["pairs_per_run"], result["repeats"]) == (5000, 2)
    assert result["machine"]["cpu_count"] >= 1

    pairs = {p["name"]: p for p in result["pairs"]}
    names = [p["name"] for p in result["pairs"]]
    # every row of the brief, in its order (the call-floor rows sit before the empty loop)
    assert [n for n in names if n in PAIR_ROWS] == PAIR_ROWS
    assert names[-1] == "empty loop"
    assert all(p["raw_ns"] > 0 for p in result["pairs"])
    assert pairs["list pool"]["ratio"] == 1.0
    assert pairs["empty loop"]["ns"] == 0

    slabs = {h["name"]: h for h in result["slab_heap"]}
    assert set(slabs) == {
        e + m for e in ("viper", "python") for m in ("", " checked", " threadsafe")
    } | {"viper fallback", "compiled", "MemPool viper, 3 classes", "MemPool python, 3 classes"}
    for e in ("viper", "python"):  # a pool: the slabs of its classes, each beyond its blocks
        assert slabs["MemPool %s, 3 classes" % e]["bytes"] > 2 * slabs[e]["bytes"], slabs
    assert all(h["bytes"] > 0 and h["build_us"] >= 0 for h in slabs.values())
    # the fast pair is what a default viper slab gets on this host; the row that
    # forces the fallback really measures it; and the fast pair costs no more heap
    assert slabs["viper"]["path"] == "fast", slabs["viper"]
    assert slabs["viper fallback"]["path"].startswith("python:"), slabs["viper fallback"]
    assert slabs["viper"]["bytes"] <= slabs["viper fallback"]["bytes"]
    # engine="compiled" compiles here, and says what it costs on each board's CPU
    assert slabs["compiled"]["path"] == "compiled", slabs["compiled"]
    code = result["footprint"]["compiled_code_bytes"]
    assert set(code) == {"RPI_PICO", "ESP32_GENERIC", "ESP32_C3"}
    assert all(500 < n < 4000 for n in code.values()), code

    queues = {h["name"]: h for h in result["queue_heap"]}
    assert set(queues) == {e + m for e in ("viper", "python") for m in ("", " threadsafe")}
    for name, h in queues.items():  # the pair the queue got; its links, 4 bytes per handle
        assert h["pair"] == name.split()[0] and h["bytes"] > 4 * h["handles"], h
    first = result["footprint"]["queue_import_heap_bytes"]
    assert set(first) == {"py", "mpy"}
    assert all("memslab._queue" in f["modules"] and f["modules_kept"] > 0 for f in first.values())

    heap = result["heap_per_block"]
    assert [h["block_size"] for h in heap] == [16, 64, 256]
    for h in heap:
        assert h["memslab"] < h["list pool"], h  # no per-block object header
        assert h["overhead"]["memslab"] == h["memslab"] - h["block_size"]
        assert h["fresh bytearray"] > h["block_size"], h

    messages = {m["name"]: m for m in result["messages"]}
    assert set(messages) == {"memslab viper", "memslab python", "list pool", "fresh bytearray"}
    for engine in ("viper", "python"):
        m = messages["memslab " + engine]
        assert (m["collections"], m["bytes_allocated"], m["heap_locked_ok"]) == (0, 0, True), m
    fresh = messages["fresh bytearray"]
    assert fresh["bytes_allocated"] >= fresh["block_size"] * fresh["messages"] > 0

    scaled = {(s["engine"], s["blocks"]) for s in result["scaling"]}
    assert scaled == {(e, n) for e in ("viper", "python") for n in (16, 1024, 65536)}
    assert all(s["raw_ns"] > 0 for s in result["scaling"])
    assert set(result["footprint"]["mpy_bytes"]) >= {"RPI_PICO", "ESP32_GENERIC", "UNIX"}
    assert set(result["footprint"]["import_heap_bytes"]) == {"py", "mpy"}

    md = (tmp_path / "bench.md").read_text()
    assert "| alloc + free pair | ns per pair | × list pool |" in md
    assert "| list pool | " in md and "| 1.00× |" in md
    assert "heap bytes per block" in md and "FIFO ring" in md and "| footprint |" in md
    assert "heap beyond its blocks" in md and "one BlockQueue over a slab" in md
    assert md == r.stdout
