"""make deploy / make test-board without a board: the mpremote command lines they
build, and the board-side code they send, run for real in the Unix port."""

import os
import re
import shutil
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
    assert argv[:5] == [boards.MPREMOTE, "connect", "/dev/ttyACM0", "exec", boards.prepare_code()]
    # each .mpy into the folder prepare_code made: mpremote 1.29 refuses
    # `cp -r <dir> :/lib/memslab` when :/lib/memslab does not exist
    lib = ROOT / "firmware" / "RPI_PICO" / "lib" / "memslab"
    mpys = [
        str(lib / (p.stem + ".mpy")) for p in sorted((ROOT / "modules" / "memslab").glob("*.py"))
    ]
    assert argv[5:7] == ["+", "cp"]
    assert argv[7 : 7 + len(mpys) + 1] == [*mpys, ":/lib/memslab/"]
    assert "-r" not in argv
    rest = argv[7 + len(mpys) + 1 :]
    assert rest[:3] == ["+", "exec", boards.verify_code(boards.package_files("RPI_PICO"))]
    if (ROOT / "boards" / "RPI_PICO" / "example.py").is_file():
        assert rest[3:] == [
            "+",
            "cp",
            str(ROOT / "boards" / "RPI_PICO" / "example.py"),
            ":/main.py",
        ]
    assert "example.py" not in " ".join(boards.deploy_commands("RPI_PICO", "p", main="")[0])
    # the dry run prints the same command, shell-quoted
    printed = dry("deploy", "--board", "ESP32_GENERIC", "--port", "COM3")
    assert printed.startswith(boards.MPREMOTE + " connect COM3 exec ")
    assert "firmware/ESP32_GENERIC/lib/memslab/__init__.mpy " in printed
    assert " :/lib/memslab/ + exec " in printed
    with pytest.raises(ValueError):
        boards.deploy_commands("NO_SUCH_BOARD", "p")


def test_mpy_cross_flags_come_from_boards_py():
    assert boards.mpy_cross_flags("UNIX") == ["-march=x64", "-msmall-int-bits=63"]
    assert boards.mpy_cross_flags("RPI_PICO") == ["-march=armv6m"]
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "boards.py"), "mpy-cross-flags", "UNIX"],
        capture_output=True,
        text=True,
    )
    assert r.stdout == "-march=x64 -msmall-int-bits=63\n"
    # the old `var` subcommand is gone; board.mk has one parser (no sed in mk/board.mk)
    r = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "boards.py"), "var", "UNIX", "ARCH"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert "$(shell sed" not in (ROOT / "mk" / "board.mk").read_text()


def test_a_board_without_arch_stops_make(tmp_path):
    # a copy of the build (the shared boards/ stays untouched) with a broken board
    for name in ("Makefile", "requirements-dev.txt"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    for d in ("mk", "tools", "modules", "boards"):
        shutil.copytree(
            str(ROOT / d), str(tmp_path / d), ignore=shutil.ignore_patterns("__pycache__")
        )
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    bad = tmp_path / "boards" / "BAD"
    bad.mkdir()
    (bad / "board.mk").write_text("HEAP_KB := 100\n")
    os.utime(str(tmp_path / "requirements-dev.txt"), (0, 0))  # setup is done
    r = subprocess.run(
        ["make", "-n", "--no-print-directory", "firmware-BAD"],
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0
    assert "boards/BAD/board.mk: tools/boards.py gave no -march" in r.stderr
    assert "missing ARCH" in r.stderr
    assert "mpy-cross" not in r.stdout


def test_test_board_command_line():
    out = make_n("test-board", "PORT=/dev/ttyACM0", "TESTS=test_core test_errors")
    assert (
        "tools/boards.py test-board --port /dev/ttyACM0 --threads 1 test_core test_errors" in out
    )
    out = make_n("test-board", "PORT=/dev/ttyACM0", "THREADS=0", "TESTS=test_threads")
    assert "tools/boards.py test-board --port /dev/ttyACM0 --threads 0 test_threads" in out
    assert "tools/boards.py deploy --board RPI_PICO --port /dev/ttyACM0" in out  # deploys first
    (argv,) = boards.test_board_commands("/dev/ttyACM0", ["test_core"])
    assert argv[:6] == [boards.MPREMOTE, "connect", "/dev/ttyACM0", "mount", str(MP_DIR), "exec"]
    assert argv[6] == boards.board_test_code(["test_core"])
    assert "mptest.THREADS = True" in argv[6]
    (argv,) = boards.test_board_commands("/dev/ttyACM0", ["test_core"], threads=False)
    assert "mptest.THREADS = False" in argv[6]
    # no modules: every test module, each named (one summary line per module)
    (argv,) = boards.test_board_commands("/dev/ttyACM0")
    assert argv[6] == boards.board_test_code(boards.all_test_modules())
    assert "test_threads" in boards.all_test_modules()
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
    lib = str(ROOT / "modules" / "memslab")
    rows, problems = boards.summarize(r.stdout, ["test_core", "test_errors"], lib=lib)
    assert problems == [], r.stdout
    assert rows["test_core"]["passed"] > 0 and rows["test_errors"]["passed"] > 0
    assert all(row["failed"] == 0 and row["ms"] is not None for row in rows.values())
    assert len(re.findall(r"^\d+ passed, 0 failed$", r.stdout, re.MULTILINE)) == 2
    # the package must come from the board's /lib, not from anywhere else
    _, problems = boards.summarize(r.stdout, ["test_core", "test_errors"])
    assert problems == ["memslab was not imported from /lib/memslab (%s/__init__.py)" % lib]


def test_board_test_code_reports_each_failing_module(tmp_path):
    for name in ("run.py", "mptest.py"):
        (tmp_path / name).write_text((MP_DIR / name).read_text())
    (tmp_path / "test_broken.py").write_text(
        "class SkipTest(Exception):\n    pass\n\n\n"
        "def test_no():\n    assert 1 == 2\n\n\n"
        "def test_yes():\n    pass\n\n\n"
        "def test_skip():\n    raise SkipTest('not here')\n"
    )
    (tmp_path / "test_noimport.py").write_text("import no_such_module\n")
    (tmp_path / "test_fine.py").write_text("def test_ok():\n    pass\n")
    mods = ["test_broken", "test_noimport", "test_fine"]
    r = run_board_code(
        boards.board_test_code(mods), tmp_path, "%s:%s" % (ROOT / "modules", tmp_path)
    )
    assert r.returncode != 0
    assert "failed on the board" in r.stdout + r.stderr
    rows, problems = boards.summarize(r.stdout, mods, lib=str(ROOT / "modules" / "memslab"))
    engines = r.stdout.count("test_fine.test_ok[")
    assert engines >= 1
    assert rows["test_broken"] == {
        "passed": engines,
        "failed": engines,
        "skipped": engines,
        "ms": rows["test_broken"]["ms"],
        "line": (2 * engines, engines),
    }
    assert rows["test_noimport"]["failed"] == 1  # did not import: one failure, run goes on
    assert rows["test_fine"]["passed"] == engines and rows["test_fine"]["failed"] == 0
    assert problems == ["test_broken: %d failed" % engines, "test_noimport: 1 failed"]
    table = boards.format_summary(rows)
    assert re.search(
        r"^test_broken\s+%d\s+%d\s+%d\s+[\d.]+$" % ((engines,) * 3), table, re.MULTILINE
    )
    assert re.search(
        r"^total\s+%d\s+%d\s+%d\s" % (2 * engines, engines + 1, engines), table, re.MULTILINE
    )


def test_summarize_catches_what_a_verdict_must_not_miss():
    head = "== memslab /lib/memslab/__init__.mpy\n"
    ok = head + "== module test_a\nPASS test_a.t[python]\n1 passed, 0 failed\n== end test_a 5\n"
    rows, problems = boards.summarize(ok, ["test_a"])
    assert problems == []
    assert rows["test_a"]["passed"] == 1 and rows["test_a"]["ms"] == 5
    # a module that never ends (board crashed or reset mid-run)
    _, problems = boards.summarize(head + "== module test_a\nPASS test_a.t[python]\n", ["test_a"])
    assert problems == ["test_a: did not finish"]
    # a module missing from the output altogether
    _, problems = boards.summarize(ok, ["test_a", "test_b"])
    assert problems == ["test_b: did not finish"]
    # a summary line that disagrees with the PASS/FAIL/SKIP lines
    bad = ok.replace("1 passed, 0 failed", "2 passed, 0 failed")
    _, problems = boards.summarize(bad, ["test_a"])
    assert problems == ["test_a: says 2 passed, 0 failed; the lines say otherwise"]
    # nothing ran at all
    empty = head + "== module test_a\n0 passed, 0 failed\n== end test_a 1\n"
    assert boards.summarize(empty, ["test_a"])[1] == ["no test passed on the board"]
    assert boards.summarize("Traceback ...\nMemoryError\n", ["test_a"])[1][0].startswith(
        "memslab was not imported"
    )


def test_prepare_code_replaces_an_old_install(tmp_path):
    # deploy's first step, run in the Unix port on a scratch "/lib"
    lib = tmp_path / "lib"
    old = lib / "memslab" / "sub"
    old.mkdir(parents=True)
    (lib / "memslab" / "__init__.py").write_text("stale")
    (old / "x.py").write_text("stale")
    (lib / "other.py").write_text("keep")
    for _ in range(2):  # twice: also when there is nothing to remove
        r = run_board_code(boards.prepare_code(str(lib / "memslab")), tmp_path, "")
        assert r.returncode == 0, r.stdout + r.stderr
        assert (lib / "memslab").is_dir()
        assert list((lib / "memslab").iterdir()) == []
        assert (lib / "other.py").read_text() == "keep"
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    r = run_board_code(boards.prepare_code(str(fresh / "lib" / "memslab")), tmp_path, "")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (fresh / "lib" / "memslab").is_dir()


def test_verify_code_checks_names_and_sizes(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.mpy").write_bytes(b"12345")
    (src / "b.mpy").write_bytes(b"12")
    files = [src / "a.mpy", src / "b.mpy"]
    board = tmp_path / "board"
    board.mkdir()

    def verify():
        return run_board_code(boards.verify_code(files, str(board)), tmp_path, "")

    (board / "a.mpy").write_bytes(b"12345")
    r = verify()
    assert r.returncode != 0 and "holds" in r.stdout + r.stderr  # b.mpy missing
    (board / "b.mpy").write_bytes(b"1")
    assert verify().returncode != 0  # b.mpy short
    (board / "b.mpy").write_bytes(b"12")
    r = verify()
    assert r.returncode == 0, r.stderr
    assert "2 files verified" in r.stdout
    (board / "c.mpy").write_bytes(b"")
    assert verify().returncode != 0  # an extra file
