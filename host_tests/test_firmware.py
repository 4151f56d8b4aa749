"""make firmware: every board's .mpy tree, with the native (viper) modules compiled for
that board's arch and the mpy version the firmware expects. (That the x64 build
imports and passes the whole MicroPython-side suite is the `mpy` variant of the
host_tests/mp items, see conftest.py.)"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import boards

MICROPYTHON = str(Path(sys.executable).with_name("micropython"))
# py/persistentcode.h: MP_NATIVE_ARCH_* in the .mpy header (byte 2 >> 2)
ARCHS = ["", "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp"]
ARCHS += ["xtensa", "xtensawin", "rv32imc", "rv64imc"]
SRCS = sorted(p.stem for p in (ROOT / "modules" / "memslab").glob("*.py"))
SMALL_INT_BITS_32BIT = 31
NATIVE = (
    "_viper",
    "_queue_viper",
    "_poolviper",
)  # the modules with viper code: built for the board's CPU
# Every constant stored through a viper pointer must be a small int on 31-bit
# boards (a 0x5A5A5A5A poison once broke every 32-bit build: it is a big int there).


def host_mpy():
    r = subprocess.run(
        [MICROPYTHON, "-c", "import sys; print(sys.implementation._mpy)"],
        capture_output=True,
        text=True,
        check=True,
    )
    v = int(r.stdout)
    return v & 0xFF, (v >> 8) & 3, (v >> 10) & 0xF


@pytest.mark.parametrize("board", boards.board_names())
def test_firmware_build(board):
    r = subprocess.run(
        ["make", "-k", "--no-print-directory", "firmware-%s" % board],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
    )
    lib = ROOT / "firmware" / board / "lib" / "memslab"
    conf = boards.read_board(board)
    version, sub, _ = host_mpy()
    built = sorted(p.stem for p in lib.glob("*.mpy"))
    for name in built:
        head = (lib / (name + ".mpy")).read_bytes()[:4]
        assert head[0:1] == b"M" and head[1] == version, (name, head)
        arch, bits = head[2] >> 2, head[3]
        if name in NATIVE:
            assert ARCHS[arch] == conf["ARCH"], (name, ARCHS[arch])
            assert head[2] & 3 == sub
        else:
            assert arch == 0, "%s.mpy has native code" % name  # portable bytecode
        if conf["ARCH"] != "x64":
            assert bits <= SMALL_INT_BITS_32BIT
    assert r.returncode == 0, r.stdout + r.stderr
    assert built == SRCS


def test_unix_viper_mpy_matches_the_host_micropython():
    # the header of the x64 native module is exactly what the Unix port accepts
    lib = ROOT / "firmware" / "UNIX" / "lib" / "memslab"
    subprocess.run(["make", "--no-print-directory", "firmware-UNIX"], cwd=str(ROOT), check=True)
    head = (lib / "_viper.mpy").read_bytes()[:3]
    version, sub, arch = host_mpy()
    assert (head[1], head[2] & 3, head[2] >> 2) == (version, sub, arch)


def test_footprint_script(tmp_path):
    out = tmp_path / "footprint.json"
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "footprint.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "| UNIX (x64) |" in r.stdout
    data = json.loads(out.read_text())
    assert set(data["mpy_bytes"]) == set(boards.board_names())
    unix = data["mpy_bytes"]["UNIX"]
    assert sorted(unix) == [s + ".mpy" for s in SRCS]
    assert all(isinstance(v, int) and v > 0 for v in unix.values())
    heap = data["import_heap_bytes"]
    assert heap["py"]["kept"] > 0 and heap["mpy"]["kept"] > 0
    # compiling from source needs transient RAM that loading a .mpy does not
    assert heap["mpy"]["peak"] < heap["py"]["peak"]
