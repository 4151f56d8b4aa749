"""Boards and the mpremote command lines that put memslab on them.

    python tools/boards.py list                        board names, one a line
    python tools/boards.py mpy-cross-flags RPI_PICO    -march=... and the board's extra flags
    python tools/boards.py deploy --board B --port P [--main main.py] [--dry-run]
    python tools/boards.py test-board --port P [--threads 0] [--dry-run] [test_core ...]

A board is a folder boards/<NAME>/ holding board.mk, lines of `NAME := value`
(ARCH, HEAP_KB, STUBS, optional MPY_CROSS_FLAGS). This file is their only parser:
mk/board.mk asks `mpy-cross-flags` for its compile lines. `make deploy` and
`make test-board` call this script; --dry-run prints each command (shell-quoted)
instead of running it.
"""

import argparse
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOARDS_DIR = ROOT / "boards"
MP_TESTS = ROOT / "host_tests" / "mp"
PKG_SRC = ROOT / "modules" / "memslab"
MPREMOTE = str(Path(sys.executable).with_name("mpremote"))
REQUIRED = ("ARCH", "HEAP_KB")
LIB = "/lib/memslab"  # where deploy puts the package on the board

_LINE = re.compile(r"^([A-Z_][A-Z0-9_]*)\s*:=\s*(.*?)\s*$")
_SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")


def read_board(name):
    """The settings of boards/<name>/board.mk as a dict; ValueError if one is missing."""
    path = BOARDS_DIR / name / "board.mk"
    if not path.is_file():
        raise ValueError("no board %r: %s does not exist" % (name, path))
    conf = {}
    for line in path.read_text().splitlines():
        m = _LINE.match(line)
        if m:
            conf[m.group(1)] = m.group(2)
    missing = [k for k in REQUIRED if not conf.get(k)]
    if missing:
        raise ValueError("%s: missing %s" % (path, ", ".join(missing)))
    return conf


def board_names():
    return sorted(p.parent.name for p in BOARDS_DIR.glob("*/board.mk"))


def mpy_cross_flags(board):
    """mpy-cross's arguments for a board: -march=<ARCH> plus its MPY_CROSS_FLAGS."""
    conf = read_board(board)
    return ["-march=" + conf["ARCH"], *conf.get("MPY_CROSS_FLAGS", "").split()]


def package_files(board):
    """The .mpy files `make firmware-<board>` builds: one per modules/memslab/*.py."""
    lib = ROOT / "firmware" / board / "lib" / "memslab"
    return [lib / (src.stem + ".mpy") for src in sorted(PKG_SRC.glob("*.py"))]


def prepare_code(lib=LIB):
    """Board-side code run before copying: remove any older `lib` (a stale .py would
    shadow the new .mpy of the same name), then make it again, empty."""
    return """import os
def _rm(p):
    try:
        m = os.stat(p)[0]
    except OSError:
        return
    if m & 0x4000:
        for n in os.listdir(p):
            _rm(p + "/" + n)
        os.rmdir(p)
    else:
        os.remove(p)
_rm("%(lib)s")
_p = ""
for _d in "%(lib)s".strip("/").split("/"):
    _p += "/" + _d
    try:
        os.mkdir(_p)
    except OSError:
        pass
print("%(lib)s cleared")""" % {"lib": lib}


def verify_code(files, lib=LIB):
    """Board-side code run after copying: `lib` holds exactly `files`, of their sizes."""
    want = sorted((f.name, f.stat().st_size if f.is_file() else -1) for f in files)
    return """import os
got = sorted((n, os.stat("%(lib)s/" + n)[6]) for n in os.listdir("%(lib)s"))
want = %(want)r
if len(got) != len(want) or any(
    g[0] != w[0] or (w[1] >= 0 and g[1] != w[1]) for g, w in zip(got, want)
):
    raise OSError("%(lib)s holds %%r, want %%r" %% (got, want))
print("%(lib)s: %%d files verified" %% len(got))""" % {"lib": lib, "want": want}


def deploy_commands(board, port, main="main.py"):
    """One mpremote session: clear :/lib/memslab, copy each .mpy into it (mpremote 1.29
    refuses `cp -r <dir> :/lib/memslab` when the destination does not exist), check what
    landed, copy the board's example to :/<main>."""
    read_board(board)  # an unknown board is an error before anything is touched
    files = package_files(board)
    cmd = [MPREMOTE, "connect", port, "exec", prepare_code()]
    cmd += ["+", "cp", *[str(f) for f in files], ":%s/" % LIB]
    cmd += ["+", "exec", verify_code(files)]
    example = BOARDS_DIR / board / "example.py"
    if main and example.is_file():
        cmd += ["+", "cp", str(example), ":/" + main]
    return [cmd]


def all_test_modules():
    return sorted(p.stem for p in MP_TESTS.glob("test_*.py"))


def board_test_code(modules, threads=True):
    """Board-side code: run each test module with run.py, between "== module"/"== end"
    lines (the end line carries the module's milliseconds); a module that does not even
    import counts as one failure. Raises at the end if anything failed. threads=False:
    every test that would start a thread (core 1) says SKIP instead (mptest.THREADS)."""
    return (
        "import gc, sys, time\n"
        "import memslab\n"
        'print("== memslab", memslab.__file__)\n'
        "import mptest\n"
        "mptest.THREADS = %s\n"
        'print("== threads", mptest.THREADS)\n'
        "import run\n"
        "n = 0\n"
        "for m in [%s]:\n"
        '    print("== module", m)\n'
        "    t = time.ticks_ms()\n"
        "    try:\n"
        "        n += run.main([m])\n"
        "    except Exception as e:\n"
        '        print("FAIL %%s.<import>" %% m)\n'
        "        sys.print_exception(e)\n"
        "        n += 1\n"
        '    print("== end", m, time.ticks_diff(time.ticks_ms(), t))\n'
        "    sys.modules.pop(m, None)\n"
        "    gc.collect()\n"
        "if n:\n"
        '    raise AssertionError("%%d test(s) failed on the board" %% n)\n'
        % (bool(threads), ", ".join('"%s"' % m for m in modules))
    )


def test_board_commands(port, modules=(), threads=True):
    """mpremote: mount host_tests/mp as /remote, run the tests against the deployed /lib."""
    for m in modules:
        if not re.match(r"^test_\w+$", m) or not (MP_TESTS / (m + ".py")).is_file():
            raise ValueError("no test module %r in %s" % (m, MP_TESTS))
    modules = list(modules) or all_test_modules()
    return [
        [
            MPREMOTE,
            "connect",
            port,
            "mount",
            str(MP_TESTS),
            "exec",
            board_test_code(modules, threads),
        ]
    ]


def summarize(output, modules, lib=LIB):
    """Per-module results of a board run: ({module: row}, [problems]).

    A row counts the module's PASS, FAIL and SKIP lines and has its milliseconds. A problem
    is a failure, a module that did not finish or print its "N passed, N failed" line, a
    line that disagrees with the counts, a package not loaded from /lib, or no test at all.
    """
    rows = {m: {"passed": 0, "failed": 0, "skipped": 0, "ms": None, "line": None} for m in modules}
    where, current = None, None
    for line in output.splitlines():
        line = line.rstrip("\r")
        word = line.split(" ", 1)[0]
        if line.startswith("== memslab "):
            where = line.split()[2]
        elif line.startswith("== module "):
            current = rows.get(line.split()[2])
        elif line.startswith("== end ") and current is not None:
            current["ms"] = int(line.split()[3])
            current = None
        elif current is None:
            continue
        elif word in ("PASS", "FAIL", "SKIP"):
            current[{"PASS": "passed", "FAIL": "failed", "SKIP": "skipped"}[word]] += 1
        elif _SUMMARY.match(line):
            current["line"] = tuple(int(x) for x in line.split()[::2])
    problems = []
    if where is None or not where.startswith(lib + "/"):
        problems.append("memslab was not imported from %s (%s)" % (lib, where))
    for m, r in rows.items():
        if r["failed"]:
            problems.append("%s: %d failed" % (m, r["failed"]))
        if r["ms"] is None:
            problems.append("%s: did not finish" % m)
        elif r["line"] is None:
            if not r["failed"]:
                problems.append("%s: no 'N passed, N failed' line" % m)
        elif r["line"] != (r["passed"] + r["skipped"], r["failed"]):
            problems.append(
                "%s: says %d passed, %d failed; the lines say otherwise" % (m, *r["line"])
            )
    if not sum(r["passed"] for r in rows.values()):
        problems.append("no test passed on the board")
    return rows, problems


def format_summary(rows, seconds=None):
    """The per-module table test-board prints."""
    out = ["%-22s %7s %7s %8s %9s" % ("module", "passed", "failed", "skipped", "seconds")]
    tot = {"passed": 0, "failed": 0, "skipped": 0, "ms": 0}
    for m, r in rows.items():
        ms = "%9.1f" % (r["ms"] / 1000) if r["ms"] is not None else "%9s" % "-"
        out.append("%-22s %7d %7d %8d %s" % (m, r["passed"], r["failed"], r["skipped"], ms))
        for k in tot:
            tot[k] += r[k] or 0
    secs = "%9.1f" % (tot["ms"] / 1000)
    out.append(
        "%-22s %7d %7d %8d %s" % ("total", tot["passed"], tot["failed"], tot["skipped"], secs)
    )
    if seconds is not None:
        out.append(
            "%d modules, %.1f s on the host clock (soft reset and mount included)"
            % (len(rows), seconds)
        )
    return "\n".join(out)


def _show(cmd):
    return " ".join(shlex.quote(a) for a in cmd)


def _run(cmds, dry_run, capture=False):
    """Run (or print) each command; return (captured output, last exit status)."""
    out, rc = [], 0
    for cmd in cmds:
        if dry_run:
            print(_show(cmd))
            continue
        print(_show(cmd[: cmd.index("exec") + 1] if "exec" in cmd else cmd), "...", flush=True)
        if not capture:
            subprocess.run(cmd, check=True)
            continue
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None  # stdout=PIPE
        for line in proc.stdout:
            sys.stdout.write(line)
            out.append(line)
        rc = proc.wait()
    return "".join(out), rc


def main(argv=None):
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="print the commands only")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    f = sub.add_parser("mpy-cross-flags")
    f.add_argument("board")
    d = sub.add_parser("deploy")
    d.add_argument("--board", required=True)
    d.add_argument("--port", default="auto")
    d.add_argument("--main", default="main.py", help="name of the example on the board")
    t = sub.add_parser("test-board")
    t.add_argument("--port", default="auto")
    t.add_argument(
        "--threads",
        type=int,
        choices=(0, 1),
        default=1,
        help="0: tests that start a thread or core 1 say SKIP (a board without core 1)",
    )
    t.add_argument("modules", nargs="*", help="test modules (default: all)")
    args = ap.parse_args(argv)

    if args.cmd == "list":
        print("\n".join(board_names()))
    elif args.cmd == "mpy-cross-flags":
        print(" ".join(mpy_cross_flags(args.board)))
    elif args.cmd == "deploy":
        missing = [str(f) for f in package_files(args.board) if not f.is_file()]
        if not args.dry_run and missing:
            sys.exit("missing %s: run `make firmware-%s` first" % (", ".join(missing), args.board))
        _run(deploy_commands(args.board, args.port, args.main), args.dry_run)
    elif args.cmd == "test-board":
        cmds = test_board_commands(args.port, args.modules, bool(args.threads))
        t0 = time.monotonic()
        out, rc = _run(cmds, args.dry_run, capture=True)
        if args.dry_run:
            return 0
        rows, problems = summarize(out, args.modules or all_test_modules())
        print("\ntest-board summary (%s):" % args.port)
        print(format_summary(rows, time.monotonic() - t0))
        if rc:
            problems.append("mpremote exited with %d" % rc)
        if problems:
            sys.exit("test-board: FAILED: " + "; ".join(problems))
        print("test-board: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
