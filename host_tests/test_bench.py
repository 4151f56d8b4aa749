"""`make bench` in --quick mode: every table is produced, from real runs.

Behaviour only (no wall-clock limits): the slab rows must allocate nothing and
survive heap_lock(), fresh allocation must allocate, all rows must be there.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
    names = [p["name"] for p in result["pairs"]]
    for engine in ("viper", "python"):
        for row in ("", " threadsafe", " checked", " call floor"):
            assert engine + row in names
    for row in ("list pool", "fresh bytearray", "empty loop"):
        assert row in names
    assert all(p["raw_ns"] > 0 for p in result["pairs"])
    assert [p["ratio"] for p in result["pairs"] if p["name"] == "list pool"] == [1.0]

    assert [h["block_size"] for h in result["heap"]] == [16, 64, 256]
    for h in result["heap"]:
        assert h["memslab"] < h["list pool"], h  # no per-block object header

    messages = {m["name"]: m for m in result["messages"]}
    for engine in ("viper", "python"):
        m = messages["memslab " + engine]
        assert (m["collections"], m["bytes_allocated"], m["heap_locked_ok"]) == (0, 0, True), m
    assert messages["fresh bytearray"]["bytes_allocated"] >= 64 * result["messages"][0]["messages"]

    scaled = {(s["engine"], s["blocks"]) for s in result["scaling"]}
    assert scaled == {(e, n) for e in ("viper", "python") for n in (16, 1024, 65536)}
    assert set(result["footprint"]["mpy_bytes"]) >= {"RPI_PICO", "ESP32_GENERIC", "UNIX"}

    md = (tmp_path / "bench.md").read_text()
    assert "| alloc + free pair | ns per pair | × list pool |" in md
    assert md == r.stdout.rstrip("\n") + "\n"
