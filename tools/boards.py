"""Boards and the mpremote command lines that put memslab on them.

    python tools/boards.py list                        board names, one a line
    python tools/boards.py var RPI_PICO ARCH           one value from boards/<BOARD>/board.mk
    python tools/boards.py deploy --board B --port P [--main main.py] [--dry-run]
    python tools/boards.py test-board --port P [--dry-run] [test_core ...]

A board is a folder boards/<NAME>/ holding board.mk, lines of `NAME := value`
(ARCH, HEAP_KB, STUBS, optional MPY_CROSS_FLAGS); mk/board.mk reads the same file.
`make deploy` and `make test-board` call this script; --dry-run prints each
command (one argv a line, shell-quoted) instead of running it.
"""

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOARDS_DIR = ROOT / "boards"
MP_TESTS = ROOT / "host_tests" / "mp"
MPREMOTE = str(Path(sys.executable).with_name("mpremote"))
REQUIRED = ("ARCH", "HEAP_KB")

_LINE = re.compile(r"^([A-Z_][A-Z0-9_]*)\s*:=\s*(.*?)\s*$")
_SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed\s*$", re.MULTILINE)


def prepare_code(lib="/lib"):
    """Board-side code run before copying: make `lib`, remove any older `lib`/memslab
    (a stale .py would shadow the new .mpy of the same name)."""
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
try:
    os.mkdir("%(lib)s")
except OSError:
    pass
_rm("%(lib)s/memslab")
print("%(lib)s/memslab cleared")""" % {"lib": lib}


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


def deploy_commands(board, port, main="main.py"):
    """The mpremote commands that install firmware/<board>/lib and the board's example."""
    read_board(board)  # an unknown board is an error before anything is touched
    lib = ROOT / "firmware" / board / "lib" / "memslab"
    cmd = [MPREMOTE, "connect", port, "exec", prepare_code()]
    cmd += ["+", "cp", "-r", str(lib), ":/lib/memslab"]
    example = BOARDS_DIR / board / "example.py"
    if main and example.is_file():
        cmd += ["+", "cp", str(example), ":/" + main]
    return [cmd]


def board_test_code(modules):
    """Board-side code: run the given test modules (all when empty) with run.py."""
    return (
        "import run\n"
        "n = 0\n"
        "for m in [%s] or [None]:\n"
        "    n += run.main([m] if m else [])\n"
        "if n:\n"
        '    raise AssertionError("%%d test(s) failed on the board" %% n)\n'
        % ", ".join('"%s"' % m for m in modules)
    )


def test_board_commands(port, modules=()):
    """mpremote: mount host_tests/mp as /remote, run the tests against the deployed /lib."""
    for m in modules:
        if not re.match(r"^test_\w+$", m) or not (MP_TESTS / (m + ".py")).is_file():
            raise ValueError("no test module %r in %s" % (m, MP_TESTS))
    return [[MPREMOTE, "connect", port, "mount", str(MP_TESTS), "exec", board_test_code(modules)]]


def board_verdict(output):
    """0 when every "N passed, N failed" line of the output says 0 failed (and some passed)."""
    sums = [(int(p), int(f)) for p, f in _SUMMARY.findall(output)]
    if not sums:
        return "no 'N passed, N failed' line from the board"
    passed = sum(p for p, _ in sums)
    failed = sum(f for _, f in sums)
    if failed:
        return "%d passed, %d failed on the board" % (passed, failed)
    if not passed:
        return "no test ran on the board"
    return None


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
        for line in proc.stdout:
            sys.stdout.write(line)
            out.append(line)
        rc = proc.wait()
    return "".join(out), rc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="print the commands only")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    v = sub.add_parser("var")
    v.add_argument("board")
    v.add_argument("name")
    d = sub.add_parser("deploy")
    d.add_argument("--board", required=True)
    d.add_argument("--port", default="auto")
    d.add_argument("--main", default="main.py", help="name of the example on the board")
    t = sub.add_parser("test-board")
    t.add_argument("--port", default="auto")
    t.add_argument("modules", nargs="*", help="test modules (default: all)")
    args = ap.parse_args(argv)

    if args.cmd == "list":
        print("\n".join(board_names()))
    elif args.cmd == "var":
        print(read_board(args.board).get(args.name, ""))
    elif args.cmd == "deploy":
        lib = ROOT / "firmware" / args.board / "lib" / "memslab"
        if not args.dry_run and not any(lib.glob("*.mpy")):
            sys.exit("no .mpy in %s: run `make firmware-%s` first" % (lib, args.board))
        _run(deploy_commands(args.board, args.port, args.main), args.dry_run)
    elif args.cmd == "test-board":
        out, rc = _run(test_board_commands(args.port, args.modules), args.dry_run, capture=True)
        if args.dry_run:
            return 0
        verdict = board_verdict(out) or ("mpremote exited with %d" % rc if rc else None)
        if verdict:
            sys.exit("test-board: " + verdict)
        print("test-board: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
