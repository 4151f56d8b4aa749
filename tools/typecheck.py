"""Type-check the package and each board's code against that board's MicroPython stubs.

    python tools/typecheck.py [BOARD ...]       (default: every board with STUBS)

For each board: pip-installs its STUBS (boards/<BOARD>/board.mk) and the pinned
stdlib stubs into typings/<BOARD>/ (once per pin), writes
typings/<BOARD>/pyrightconfig.json (stubs as stubPath and typeshedPath, so the
MicroPython builtins such as ptr32 come from the stubs' __builtins__.pyi) and runs
pyright on modules/ and boards/<BOARD>/*.py.

Findings listed in tools/typecheck_known.json (board, file, rule, message
substring, and why) are reported but tolerated; any other finding fails, and so
does a listed finding that no longer occurs (the list only shrinks).
"""

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import boards

ROOT = boards.ROOT
BIN = Path(sys.executable).parent
# The stdlib part of micropython-stubs (a reduced typeshed); every board stub needs it.
STDLIB_STUBS = "micropython-stdlib-stubs==1.29.0.post2"


def install_stubs(board, stubs):
    target = ROOT / "typings" / board
    pins = sorted([stubs, STDLIB_STUBS])
    stamp = target / ".installed"
    if stamp.is_file() and stamp.read_text().split() == pins:
        return target
    subprocess.run(["rm", "-rf", str(target)], check=True)
    cmd = [str(BIN / "pip"), "install", "-q", "--disable-pip-version-check", "--no-deps"]
    subprocess.run([*cmd, "--target", str(target), *pins], check=True)
    stamp.write_text("\n".join(pins) + "\n")
    return target


def config(board, target):
    rel = Path("..") / ".."  # typings/<BOARD>/ -> repo root
    files = [str(rel / "modules")]
    files += [
        str(rel / p.relative_to(ROOT)) for p in sorted((ROOT / "boards" / board).glob("*.py"))
    ]
    return {
        "include": files,
        "exclude": [str(rel / "modules" / "manifest.py")],  # a manifest, not board code
        "extraPaths": [str(rel / "modules")],
        "stubPath": ".",
        "typeshedPath": ".",
        "pythonVersion": "3.8",
        "typeCheckingMode": "basic",
        "reportMissingModuleSource": "none",
    }


KNOWN = Path(__file__).with_name("typecheck_known.json")


def _known_matches(entry, board, diag):
    return (
        board in entry["boards"]
        and diag["file"].endswith(entry["file"])
        and diag.get("rule") == entry["rule"]
        and entry["message"] in diag["message"]
    )


def run_pyright(cfg):
    """pyright's diagnostics (errors and warnings) for one config, as dicts."""
    cmd = [str(BIN / "pyright"), "--outputjson", "-p", str(cfg)]
    r = subprocess.run(cmd, check=False, cwd=str(ROOT), capture_output=True, text=True)
    try:
        report = json.loads(r.stdout)
    except ValueError:
        raise SystemExit("pyright failed to run:\n%s%s" % (r.stdout, r.stderr))
    return [d for d in report["generalDiagnostics"] if d["severity"] in ("error", "warning")]


def check(board, known, used):
    stubs = boards.read_board(board).get("STUBS")
    if not stubs:
        print("typecheck %s: no STUBS in board.mk, skipped" % board)
        return 0
    target = install_stubs(board, stubs)
    cfg = target / "pyrightconfig.json"
    cfg.write_text(json.dumps(config(board, target), indent=2) + "\n")
    new = 0
    diags = run_pyright(cfg)
    for d in diags:
        where = "%s:%d" % (Path(d["file"]).relative_to(ROOT), d["range"]["start"]["line"] + 1)
        first = d["message"].splitlines()[0]
        hits = [i for i, e in enumerate(known) if _known_matches(e, board, d)]
        if hits:
            used.update(hits)
            print("  known  %s %s: %s" % (where, d.get("rule"), first))
        else:
            new += 1
            print("  ERROR  %s %s: %s" % (where, d.get("rule"), d["message"]))
    print("typecheck %s (%s): %d finding(s), %d new" % (board, stubs, len(diags), new))
    return new


def main(argv):
    names = argv or boards.board_names()
    known = json.loads(KNOWN.read_text()) if KNOWN.is_file() else []
    used = set()
    failed = [b for b in names if check(b, known, used) != 0]
    stale = [] if argv else [e for i, e in enumerate(known) if i not in used]
    for e in stale:
        print("stale entry in %s (fixed? remove it): %s" % (KNOWN.name, e))
    if failed:
        print("typecheck: new findings for %s" % " ".join(failed))
    return 1 if failed or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
