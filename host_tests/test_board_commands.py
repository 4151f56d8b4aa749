"""make deploy / make test-board without a board: the mpremote command lines they
build, and the board-side code they send, run for real in the Unix port."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import boards

MICROPYTHON = str(Path(sys.executable).with_name("micropython"))
MP_DIR = ROOT / "host_tests" / "mp"


def make_n(*args):
    r = subprocess.run(
        ["make", "-n", "--no-print-directory", *args],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        check=True,
    )
    return r.stdout


def dry(*args):
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "boards.py"), "--dry-run", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return r.stdout


def test_every_board_folder_has_its_data():
    names = boards.board_names()
    assert {"RPI_PICO", "ESP32_GENERIC", "ESP32_C3", "UNIX"} <= set(names)
    arch = {n: boards.read_board(n)["ARCH"] for n in names}
    assert arch["RPI_PICO"] == "armv6m"
    assert arch["ESP32_GENERIC"] == "xtensawin"
    assert arch["ESP32_C3"] == "rv32imc"
    assert arch["UNIX"] == "x64"
    for n in names:
        assert int(boards.read_board(n)["HEAP_KB"]) > 0
        assert (ROOT / "boards" / n / "README.md").is_file()


@pytest.mark.parametrize("board", boards.board_names())
def test_make_firmware_compiles_with_the_boards_arch(board):
    out = make_n("-B", "firmware-%s" % board)
    arch = boards.read_board(board)["ARCH"]
    lines = [ln for ln in out.splitlines() if "mpy-cross" in ln]
    srcs = sorted((ROOT / "modules" / "memslab").glob("*.py"))
    assert len(lines) == len(srcs)
    for src in srcs:
        want = "-o firmware/%s/lib/memslab/%s.mpy modules/memslab/%s" % (board, src.stem, src.name)
        (line,) = [ln for ln in lines if ln.endswith(want)]
        assert " -march=%s " % arch in line


def test_deploy_command_line():
    out = make_n("deploy", "BOARD=RPI_PICO", "PORT=/dev/ttyACM0")
    assert "tools/boards.py deploy --board RPI_PICO --port /dev/ttyACM0 --main" in out
    cmd = boards.deploy_commands("RPI_PICO", "/dev/ttyACM0")
    assert len(cmd) == 1
    argv = cmd[0]
    assert argv[:4] == [boards.MPREMOTE, "connect", "/dev/ttyACM0", "exec"]
    steps = " ".join(argv[5:])
    assert (
        "+ cp -r %s :/lib/memslab" % (ROOT / "firmware" / "RPI_PICO" / "lib" / "memslab") in steps
    )
    if (ROOT / "boards" / "RPI_PICO" / "example.py").is_file():
        assert steps.endswith("+ cp %s :/main.py" % (ROOT / "boards" / "RPI_PICO" / "example.py"))
    assert "example.py" not in " ".join(boards.deploy_commands("RPI_PICO", "p", main="")[0])
    # the dry run prints the same command, shell-quoted
    printed = dry("deploy", "--board", "ESP32_GENERIC", "--port", "COM3")
    assert printed.startswith(boards.MPREMOTE + " connect COM3 exec ")
    assert "firmware/ESP32_GENERIC/lib/memslab :/lib/memslab" in printed
    with pytest.raises(ValueError):
        boards.deploy_commands("NO_SUCH_BOARD", "p")


def test_test_board_command_line():
    out = make_n("test-board", "PORT=/dev/ttyACM0", "TESTS=test_core test_errors")
    assert "tools/boards.py test-board --port /dev/ttyACM0 test_core test_errors" in out
    assert "tools/boards.py deploy --board RPI_PICO --port /dev/ttyACM0" in out  # deploys first
    (argv,) = boards.test_board_commands("/dev/ttyACM0", ["test_core"])
    assert argv[:6] == [boards.MPREMOTE, "connect", "/dev/ttyACM0", "mount", str(MP_DIR), "exec"]
    with pytest.raises(ValueError):
        boards.test_board_commands("p", ['test_core"]); import os; os.remove("x'])


def run_board_code(code, cwd, lib):
    env = dict(os.environ, MICROPYPATH=".frozen:%s" % lib)
    return subprocess.run(
        [MICROPYTHON, "-c", code],
        cwd=str(cwd),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_board_test_code_passes_on_the_unix_port():
    # what test-board sends after `mount host_tests/mp`: cwd is the mounted folder
    code = boards.board_test_code(["test_core", "test_errors"])
    r = run_board_code(code, MP_DIR, "%s:%s" % (ROOT / "modules", MP_DIR))
    assert r.returncode == 0, r.stdout + r.stderr
    assert boards.board_verdict(r.stdout) is None
    assert len(re.findall(r"^\d+ passed, 0 failed$", r.stdout, re.MULTILINE)) == 2


def test_board_test_code_fails_when_a_test_fails(tmp_path):
    for name in ("run.py", "mptest.py"):
        (tmp_path / name).write_text((MP_DIR / name).read_text())
    (tmp_path / "test_broken.py").write_text("def test_no():\n    assert 1 == 2\n")
    r = run_board_code(
        boards.board_test_code([]), tmp_path, "%s:%s" % (ROOT / "modules", tmp_path)
    )
    assert r.returncode != 0
    assert "failed on the board" in r.stdout + r.stderr
    assert boards.board_verdict(r.stdout).endswith("failed on the board")


def test_board_verdict():
    assert boards.board_verdict("PASS a\n3 passed, 0 failed\n") is None
    assert boards.board_verdict("3 passed, 0 failed\n1 passed, 1 failed\n") is not None
    assert boards.board_verdict("0 passed, 0 failed\n") == "no test ran on the board"
    assert boards.board_verdict("Traceback ...\nMemoryError\n") is not None


def test_prepare_code_replaces_an_old_install(tmp_path):
    # deploy's first step, run in the Unix port on a scratch "/lib"
    lib = tmp_path / "lib"
    old = lib / "memslab" / "sub"
    old.mkdir(parents=True)
    (lib / "memslab" / "__init__.py").write_text("stale")
    (old / "x.py").write_text("stale")
    (lib / "other.py").write_text("keep")
    for _ in range(2):  # twice: also when there is nothing to remove
        r = run_board_code(boards.prepare_code(str(lib)), tmp_path, "")
        assert r.returncode == 0, r.stdout + r.stderr
        assert not (lib / "memslab").exists()
        assert (lib / "other.py").read_text() == "keep"
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    r = run_board_code(boards.prepare_code(str(fresh / "lib")), tmp_path, "")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (fresh / "lib").is_dir()
