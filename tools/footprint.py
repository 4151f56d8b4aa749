"""memslab's footprint: .mpy size per board and file, and the heap `import memslab`
keeps on the Unix port, from source (.py) and from the x64 .mpy build.

    python tools/footprint.py [--out results/footprint.json]

Compiles modules/memslab/*.py with each board's mpy-cross settings
(boards/<BOARD>/board.mk) into a scratch folder, so it needs no earlier build.
Prints a Markdown table; writes the numbers to results/footprint.json.
Heap: a fresh `micropython` per measurement; gc.collect(), gc.mem_alloc()
before and after `import memslab` (what the import keeps) and after a first
slab, built and dropped (what a program using memslab keeps), and from
micropython.mem_peak()/mem_total() the peak above the start and the bytes
allocated in all while importing (compiling .py from source costs the difference).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import boards

ROOT = boards.ROOT
BIN = Path(sys.executable).parent
SRC = ROOT / "modules" / "memslab"
PROBE = (
    "import gc, micropython\n"
    "gc.collect()\n"
    "a = gc.mem_alloc()\n"
    "c = micropython.mem_current()\n"
    "t = micropython.mem_total()\n"
    "import memslab\n"
    "p = micropython.mem_peak() - c\n"
    "t = micropython.mem_total() - t\n"
    "gc.collect()\n"
    "k = gc.mem_alloc() - a\n"
    "memslab.MemSlab(16, 4)\n"
    "gc.collect()\n"
    "print(k, p, t, gc.mem_alloc() - a, memslab.__file__)\n"
)
# kept: what the import keeps; with_slab: kept once a first slab was built and
# dropped (the modules a working program holds: the engine self-check has run)
KINDS = ("kept", "peak", "allocated", "with_slab")
# The first BlockQueue loads its modules: heap kept by them (the first queue's
# heap minus a second queue's), after `import memslab` and a first slab.
QUEUE_PROBE = (
    "import gc, sys, memslab\n"
    "s = memslab.MemSlab(16, 64)\n"
    "before = set(sys.modules)\n"
    "gc.collect()\n"
    "a = gc.mem_alloc()\n"
    "q = memslab.BlockQueue(s)\n"
    "gc.collect()\n"
    "first = gc.mem_alloc() - a\n"
    "q2 = memslab.BlockQueue(s)\n"
    "gc.collect()\n"
    "one = gc.mem_alloc() - a - first\n"
    "print(first - one, one, ','.join(sorted(set(sys.modules) - before)))\n"
)


def build(board, out):
    """Compile the package for one board into out/memslab; {file: size or error}."""
    flags = boards.mpy_cross_flags(board)  # the same flags as `make firmware`
    sizes = {}
    (out / "memslab").mkdir(parents=True, exist_ok=True)
    for src in sorted(SRC.glob("*.py")):
        dst = out / "memslab" / (src.stem + ".mpy")
        cmd = [str(BIN / "mpy-cross"), *flags]
        cmd += ["-s", "memslab/" + src.name, "-o", str(dst), str(src)]
        r = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if r.returncode == 0:
            sizes[src.stem + ".mpy"] = dst.stat().st_size
        else:
            sizes[src.stem + ".mpy"] = "error: " + r.stderr.strip().splitlines()[-1]
    return sizes


def import_heap(lib, runs=3):
    env = dict(os.environ, MICROPYPATH=".frozen:%s" % lib)
    seen = []  # KINDS, per run
    for _ in range(runs):
        r = subprocess.run(
            [str(BIN / "micropython"), "-c", PROBE],
            env=env,
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            check=True,
        )
        *numbers, where = r.stdout.split()
        if not where.startswith(str(lib)):
            raise SystemExit("memslab came from %s, not %s" % (where, lib))
        seen.append(tuple(int(n) for n in numbers))
    return dict(zip(KINDS, min(seen)))


def queue_heap(lib, runs=3):
    """{"modules_kept", "queue", "modules"}: what the first BlockQueue's modules
    keep on the heap, one queue over a 64-block slab, the modules it loaded."""
    env = dict(os.environ, MICROPYPATH=".frozen:%s" % lib)
    seen = []
    for _ in range(runs):
        r = subprocess.run(
            [str(BIN / "micropython"), "-c", QUEUE_PROBE],
            env=env,
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            check=True,
        )
        kept, one, mods = r.stdout.split()
        seen.append((int(kept), int(one), mods))
    kept, one, mods = min(seen)
    return {"modules_kept": kept, "queue": one, "modules": mods.split(",")}


def main(argv=None):
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "results" / "footprint.json"))
    args = ap.parse_args(argv)
    names = boards.board_names()
    result: dict = {"mpy_bytes": {}, "source_bytes": {}, "import_heap_bytes": {}}
    for src in sorted(SRC.glob("*.py")):
        result["source_bytes"][src.name] = src.stat().st_size
    with tempfile.TemporaryDirectory() as tmp:
        for b in names:
            result["mpy_bytes"][b] = build(b, Path(tmp) / b)
        heap = result["import_heap_bytes"]
        heap["py"] = import_heap(ROOT / "modules")
        queue = result["queue_heap_bytes"] = {"py": queue_heap(ROOT / "modules")}
        if "UNIX" in names:
            heap["mpy"] = import_heap(Path(tmp) / "UNIX")
            queue["mpy"] = queue_heap(Path(tmp) / "UNIX")

    files = sorted(result["source_bytes"])
    print("| board (arch) | " + " | ".join(f[:-3] + ".mpy" for f in files) + " | total |")
    print("| --- |" + " ---: |" * (len(files) + 1))
    row = ["%d" % result["source_bytes"][f] for f in files]
    total = sum(result["source_bytes"].values())
    print("| source `.py` | " + " | ".join(row) + " | %d |" % total)
    for b in names:
        sizes = result["mpy_bytes"][b]
        cells = [sizes[f[:-3] + ".mpy"] for f in files]
        ok = [c for c in cells if isinstance(c, int)]
        arch = boards.read_board(b)["ARCH"]
        text = ["%d" % c if isinstance(c, int) else "**fails**" for c in cells]
        note = "" if len(ok) == len(cells) else " (without failed files)"
        print("| %s (%s) | %s | %d%s |" % (b, arch, " | ".join(text), sum(ok), note))
    print()
    print(
        "| `import memslab` on the Unix port (bytes) | heap kept | peak | allocated "
        "| kept after a first slab |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind, n in result["import_heap_bytes"].items():
        print(
            "| from `.%s` | %d | %d | %d | %d |"
            % (kind, n["kept"], n["peak"], n["allocated"], n["with_slab"])
        )
    print()
    print(
        "| the first `BlockQueue` (after a first slab) | its modules' heap | one more queue (64 handles) |"
    )
    print("| --- | ---: | ---: |")
    for kind, n in result["queue_heap_bytes"].items():
        print(
            "| from `.%s` (%s) | %d | %d |"
            % (kind, ", ".join(n["modules"]), n["modules_kept"], n["queue"])
        )
    for b in names:
        for f, v in result["mpy_bytes"][b].items():
            if not isinstance(v, int):
                print("\n%s %s: %s" % (b, f, v))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
