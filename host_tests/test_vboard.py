"""`make deploy` and `make test-board` end to end: the real mpremote over a real pty to a
virtual board (tools/vboard.py: the Unix port with a Pico-sized heap and a littlefs image
mounted at /, surviving soft resets as a board does).

The module summary of the board run is printed: `pytest -rP host_tests/test_vboard.py`.
"""

import hashlib
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import vboard

import boards

HANG = 300  # seconds: a bound for a hung board, never a pass/fail window
ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


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


def mpremote(vb, *args):
    r = subprocess.run(
        [boards.MPREMOTE, "connect", vb.port, *args],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert r.returncode == 0, r.stdout + r.stderr + vb.log.read_text()
    return r.stdout


def host_lib_state():
    """What the host's /lib/memslab is (nothing, usually): it must not change."""
    p = Path("/lib/memslab")
    if not p.exists():
        return None
    return sorted((f.name, f.stat().st_mtime_ns) for f in p.iterdir())


def test_make_deploy_and_test_board_on_the_virtual_board(board):
    host_before = host_lib_state()
    rc, out = make("deploy", "BOARD=UNIX", "PORT=" + board.port)
    assert rc == 0, out
    files = boards.package_files("UNIX")
    assert "/lib/memslab: %d files verified" % len(files) in out

    # the .mpy files are in the board's flash image, byte for byte, and nowhere on the host
    image = vboard.image_files(board.image)
    on_board = sorted(p for p in image if p.startswith("/lib/memslab/") and image[p])
    assert on_board == sorted("/lib/memslab/" + f.name for f in files), image
    for f in files:
        size, digest = image["/lib/memslab/" + f.name]
        assert size == f.stat().st_size
        assert digest == hashlib.sha256(f.read_bytes()).hexdigest()
    assert host_lib_state() == host_before
    assert not (board.dir / "lib").exists()

    t0 = time.monotonic()
    rc, out = make("test-board", "BOARD=UNIX", "PORT=" + board.port)
    seconds = time.monotonic() - t0
    summary = out[out.index("test-board summary") :] if "test-board summary" in out else out
    print("\nmake test-board BOARD=UNIX PORT=%s: %.1f s\n%s" % (board.port, seconds, summary))
    assert rc == 0, out
    assert "test-board: all passed" in out
    assert "== memslab /lib/memslab/__init__.mpy" in out
    rows = {}
    for line in summary.splitlines():
        m = re.match(r"^(test_\w+|total)\s+(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+$", line)
        if m:
            rows[m.group(1)] = tuple(int(x) for x in m.groups()[1:])
    assert sorted(r for r in rows if r != "total") == boards.all_test_modules()
    assert all(failed == 0 for _, failed, _ in rows.values()), summary
    assert rows["total"][0] > 0
    # the thread tests ran (the Unix port has _thread): passed, not skipped
    assert rows["test_threads"][0] > 0 and rows["test_threads"][2] == 0, summary


def test_test_board_without_threads_skips_every_thread_test(board):
    # THREADS=0, for a board whose core 1 cannot run (the emulated Pico has none): the
    # modules that start threads pass with those tests said SKIP, none started
    mods = "test_threads test_wait test_pipeline test_core"
    rc, out = make("test-board", "BOARD=UNIX", "THREADS=0", "TESTS=" + mods, "PORT=" + board.port)
    assert rc == 0, out
    assert "test-board: all passed" in out and "== threads False" in out
    skips = [ln for ln in out.splitlines() if ln.startswith("SKIP ")]
    for m in ("test_threads", "test_wait", "test_pipeline"):
        assert any(ln.startswith("SKIP %s." % m) for ln in skips), out
    assert all(ln.endswith("needs a second thread or core: THREADS=0") for ln in skips), skips
    assert re.search(r"^PASS test_wait\.test_alloc_wait_needs_threadsafe", out, re.MULTILINE)
    assert not re.search(r"^SKIP test_core\.", out, re.MULTILINE)


def test_soft_reset_survives_and_the_flash_persists(board):
    boots = board.boots()
    # `resume`: no reset, state carries over between sessions
    mpremote(board, "resume", "exec", "x = 5; open('/marker.txt', 'w').write('42')")
    assert "True" in mpremote(board, "resume", "exec", "print('x' in globals())")
    assert board.boots() == boots
    # without `resume`, mpremote soft-resets first (Ctrl-D in the raw REPL, waits for
    # "soft reboot"): a fresh interpreter, the same flash
    out = mpremote(
        board,
        "exec",
        "import os, sys, gc, asyncio, memslab\n"
        "print('x' in globals(), open('/marker.txt').read())\n"
        "print(sys.path, os.getcwd(), memslab.__file__)\n"
        "print(sorted(os.listdir('/lib/memslab')))\n"
        "gc.collect(); print('heap', gc.mem_free() + gc.mem_alloc())",
    )
    assert board.boots() == boots + 1
    lines = out.splitlines()
    assert lines[0] == "False 42"
    assert lines[1] == "['', '.frozen', '/lib'] / /lib/memslab/__init__.mpy"
    assert lines[2] == str(sorted(f.name for f in boards.package_files("UNIX")))
    heap = int(lines[3].split()[1])
    # a Pico-sized GC heap (-X heapsize, less the GC's own tables)
    assert 0.97 < heap / (vboard.board_heap_kb("RPI_PICO") * 1024) <= 1
    assert vboard.image_files(board.image)["/marker.txt"][0] == 2
    # `soft-reset` as a command, twice in one session
    mpremote(board, "soft-reset", "+", "soft-reset", "+", "exec", "print(1)")
    assert board.boots() == boots + 3


def test_ctrl_c_interrupts_a_running_program(board):
    # a program that never ends, left running by a killed mpremote
    proc = subprocess.Popen(
        [boards.MPREMOTE, "connect", board.port, "exec", "print('looping')\nwhile 1:\n pass"],
        stdout=subprocess.PIPE,
    )
    seen = b""
    deadline = time.monotonic() + HANG
    while b"looping" not in seen and time.monotonic() < deadline:
        if select.select([proc.stdout], [], [], 1)[0]:
            seen += os.read(proc.stdout.fileno(), 100)
    proc.kill()
    proc.wait()
    proc.stdout.close()
    assert b"looping" in seen
    # the next mpremote sends Ctrl-C before entering the raw REPL: the loop must stop
    # (else mpremote gives up: "could not enter raw repl")
    assert mpremote(board, "exec", "print('after')").strip() == "after"
