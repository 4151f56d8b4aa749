"""`make bench-board` and `make footprint-board` end to end: the real mpremote over a pty to
the virtual board (tools/vboard.py, the Unix port with a Pico-sized heap), in quick mode.

Behaviour only, as test_bench.py: every table is there, measured on the board (the package
from its /lib, its heap, a soft reset per session), slab rows allocate nothing, the heap
figures hang together. No wall-clock limit (HANG only bounds a hung board).
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import bench
import bench_board
import footprint_board
import vboard
from test_bench import PAIR_ROWS

import boards

HANG = 600  # seconds: a bound for a hung board, never a pass/fail window
ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
PICO_KB = vboard.board_heap_kb("RPI_PICO")


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    with vboard.running(tmp_path_factory.mktemp("vboard")) as vb:
        yield vb


def make(*args):
    r = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=str(ROOT),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    return r.returncode, r.stdout + r.stderr


def check_footprint(f):
    """The heap figures of footprint_board.measure(), from the virtual board's /lib."""
    assert f["file"] == "/lib/memslab/__init__.mpy", f
    assert 0.97 < f["heap"] / (PICO_KB * 1024) <= 1, f  # the board's heap, not the host's
    files = boards.package_files("UNIX")
    assert f["files"] == [[p.name, p.stat().st_size] for p in files]
    keys = ("import", "first_slab", "further_slab", "with_slab", "list_64x16")
    keys += ("compiled_first", "compiled_further", "pool_first", "pool_further")
    assert all(isinstance(f[k], int) and f[k] > 0 for k in keys), f
    assert (f["engine"], f["path"], f["compiled_engine"]) == ("viper", "fast", "compiled"), f
    # a first one loads what later ones share (self-check, modules, interned names)
    assert f["first_slab"] >= f["further_slab"], f
    assert f["compiled_first"] > f["compiled_further"], f
    assert f["pool_first"] > f["pool_further"] > 2 * f["further_slab"], f
    assert f["list_64x16"] > 64 * 16  # object headers and the list on top of the bytes
    b = f["break_even"]
    assert b["fixed"] == f["import"] + f["first_slab"]
    saved = f["list_64x16"] / 64 - footprint_board.SLAB_BLOCK
    assert b["blocks"] == math.ceil(b["fixed"] / saved) > 0, b


def test_bench_board_on_the_virtual_board(board, tmp_path):
    rc, out = make("deploy", "BOARD=UNIX", "PORT=" + board.port)  # the board has booted
    assert rc == 0, out
    boots = board.boots()
    rc, out = make(
        "bench-board",
        "BOARD=UNIX",
        "PORT=" + board.port,
        "BENCH_BOARD_ARGS=--quick --out-dir %s" % tmp_path,
    )
    assert rc == 0, out
    # deploy, then one soft reset per session: two bench runs, three heap probes
    assert board.boots() - boots == 1 + len(bench_board.RUNS) + len(footprint_board.PROBES)
    r = json.loads((tmp_path / "bench-board.json").read_text())
    assert r["board"] is True and r["quick"] is True
    assert (r["pairs_per_run"], r["repeats"], r["messages_per_run"]) == (200, 2, 600)
    assert r["memslab_file"] == "/lib/memslab/__init__.mpy"
    assert r["heap_kb"] == r["messages_heap_kb"] <= PICO_KB  # on the board, not the host
    assert r["engines"] == ["viper", "python"]
    assert "# pairs" in out and "# messages" in out  # progress, from the board

    names = [p["name"] for p in r["pairs"]]
    assert [n for n in names if n in PAIR_ROWS] == PAIR_ROWS
    pairs = {p["name"]: p for p in r["pairs"]}
    assert all(p["raw_ns"] > 0 for p in r["pairs"])
    assert pairs["list pool"]["ratio"] == 1.0 and pairs["empty loop"]["ns"] == 0

    slabs = {h["name"]: h for h in r["slab_heap"]}
    assert slabs["viper"]["path"] == "fast" and slabs["compiled"]["path"] == "compiled"
    assert all(h["bytes"] > 0 for h in slabs.values()), slabs
    assert [h["block_size"] for h in r["heap_per_block"]] == [16, 64, 256]

    messages = {m["name"]: m for m in r["messages"]}
    for engine in ("viper", "python"):
        m = messages["memslab " + engine]
        assert (m["collections"], m["bytes_allocated"], m["heap_locked_ok"]) == (0, 0, True), m
    assert messages["fresh bytearray"]["bytes_allocated"] >= 64 * 600

    # 65,536 blocks of 16 bytes do not fit a Pico-sized heap: reported, not fatal
    scaling = {(s["engine"], s["blocks"]): s for s in r["scaling"]}
    for engine in ("viper", "python"):
        assert scaling[(engine, 65536)]["error"] == "MemoryError"
        assert scaling[(engine, 1024)]["ns"] > 0

    check_footprint(r["footprint_board"])
    md = (tmp_path / "bench-board.md").read_text()
    assert "| alloc + free pair | µs per pair | × list pool |" in md  # no machine.freq()
    assert "| list pool | " in md and "| 1.00× |" in md and "FIFO ring" in md
    assert "| heap on the board | bytes |" in md and "break-even" in md
    assert "BENCH_BOARD_ARGS=--quick" in md.splitlines()[0]
    assert out.endswith(md)


def test_footprint_board_on_the_virtual_board(board, tmp_path):
    rc, out = make("deploy", "BOARD=UNIX", "PORT=" + board.port)
    assert rc == 0, out
    boots = board.boots()
    rc, out = make(
        "footprint-board",
        "BOARD=UNIX",
        "PORT=" + board.port,
        "FOOTPRINT_BOARD_ARGS=--out %s" % (tmp_path / "fp.json"),
    )
    assert rc == 0, out
    assert board.boots() - boots == 1 + len(footprint_board.PROBES)  # a fresh one per probe
    f = json.loads((tmp_path / "fp.json").read_text())
    check_footprint(f)
    md = (tmp_path / "fp.md").read_text()
    assert md.splitlines()[0].startswith("micropython ") and board.port in md
    assert "| `import memslab`, kept | %d |" % f["import"] in md
    assert (
        "| blocks from which one slab takes less heap than the list | %d |"
        % (f["break_even"]["blocks"])
        in md
    )
    assert out.endswith(md)


def test_board_pair_table_gives_cycles_at_the_boards_clock():
    r = {
        "board": True,
        "cpu_hz": 125_000_000,
        "pairs": [
            {"name": "list pool", "raw_ns": 12334.0, "ns": 9224.0, "ratio": 1.0},
            {"name": "viper", "raw_ns": 20722.0, "ns": 17612.0, "ratio": 1.91},
            {"name": "empty loop", "raw_ns": 3110.0, "ns": 0.0, "ratio": None},
        ],
    }
    lines = bench.pair_table(r)
    assert lines[0].startswith("| alloc + free pair | µs per pair | cycles at 125 MHz |")
    assert lines[1] == "| --- | ---: | ---: | ---: | --- |"
    assert lines[3].startswith("| viper | 17.61 | 2202 | 1.91× |")
    assert lines[4].startswith("| empty loop | 0 (raw 3.11) | 0 (raw 389) |  |")
    # the host's table is untouched: ns, no cycles
    host = bench.pair_table(dict(r, board=False))
    assert host[0].startswith("| alloc + free pair | ns per pair | × list pool |")
    assert host[3].startswith("| viper | 17612 | 1.91× |")


def test_make_help_lists_the_board_targets():
    rc, out = make("help")
    assert rc == 0, out
    for target in ("bench-board", "footprint-board"):
        assert any(line.split()[:1] == [target] for line in out.splitlines()), out
