"""`make footprint-board PORT=...`: the heap memslab takes on a connected board.

    python tools/footprint_board.py --port /dev/ttyACM0 [--runs N] [--out results/footprint-board.json]

tools/footprint.py measures the heap on the Unix port; this measures it on the board,
against the package `make deploy` put in /lib/memslab (or a frozen one, which comes
first on sys.path). Each probe runs through `mpremote connect PORT exec` in a fresh
interpreter (mpremote soft-resets the board first) and measures with gc.collect() and
gc.mem_alloc() around each step, as footprint.py does:

  slab      a list of 64 bytearray(16) (what a hand-written pool costs per block);
            `import memslab`; a first MemSlab(16, 64) and a second one, each beyond its
            1,024 bytes of blocks; what stays once both are dropped
  compiled  `import memslab`; a first and a second engine="compiled" MemSlab(16, 64)
  pool      `import memslab`; a first and a second 3-class MemPool, beyond their blocks

and the break-even against a list pool: the number of 16-byte blocks from which
memslab's fixed heap (the import and its first slab) is paid back by its 16 bytes per
block against the list's. Prints Markdown tables; writes <out> and <out>.md (.json ->
.md). tools/bench_board.py adds the same tables to `make bench-board`.
"""

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import boards

ROOT = boards.ROOT
POOL_CLASSES = ((16, 32), (64, 16), (256, 4))  # mp_bench.py's, the README's messages
MARK = "FOOTPRINT "

# Board-side code around each probe's steps. `r` holds every key the probe sets from
# the start, and every global it binds exists before the first measurement: a dict
# that grows inside a measured step would count its new table.
_HEAD = """import gc, json, sys
r = %(keys)r
keep = a0 = memslab = x1 = x2 = v = None
def used():
    gc.collect()
    return gc.mem_alloc()
def step(name, make, blocks=0):
    a = used()
    try:
        x = make()
    except Exception as e:  # MemoryError on a small heap: reported, not fatal
        r[name] = "%%s: %%s" %% (type(e).__name__, e)
        return None
    r[name] = used() - a - blocks
    return x
%(before)sa0 = used()
memslab = step("import", lambda: __import__("memslab"))
r["file"] = memslab.__file__
%(body)s
r["heap"] = gc.mem_alloc() + gc.mem_free()
r["implementation"] = "%%s %%s" %% (sys.implementation.name, ".".join(str(v) for v in sys.implementation.version[:3]))
r["machine"] = getattr(sys.implementation, "_machine", sys.platform)
print("FOOTPRINT " + json.dumps(r))
"""
_COMMON = ("import", "file", "heap", "implementation", "machine")


def _probe(body, keys, before=""):
    return _HEAD % {"keys": dict.fromkeys(_COMMON + keys), "before": before, "body": body}


_POOL_BLOCKS = sum(bs * n for bs, n in POOL_CLASSES)
PROBES = {
    "slab": _probe(
        """x1 = step("first_slab", lambda: memslab.MemSlab(16, 64), 1024)
x2 = step("further_slab", lambda: memslab.MemSlab(16, 64), 1024)
r["engine"] = getattr(x1, "engine", None)
v = sys.modules.get("memslab._viper")
r["path"] = getattr(v, "PATH", None)
r["recompiled"] = getattr(v, "RECOMPILED", None)
r["viper_error"] = memslab.VIPER_ERROR
x1 = x2 = v = None
r["with_slab"] = used() - a0
if memslab.__file__.startswith("/"):  # not frozen: the package's files on the board
    import os
    d = memslab.__file__.rsplit("/", 1)[0]
    r["files"] = [(n, os.stat(d + "/" + n)[6]) for n in sorted(os.listdir(d))]""",
        (
            "list_64x16",
            "first_slab",
            "further_slab",
            "engine",
            "path",
            "recompiled",
            "viper_error",
            "with_slab",
            "files",
        ),
        # before the import, so nothing of memslab's is in it
        before='keep = step("list_64x16", lambda: [bytearray(16) for _ in range(64)])\n'
        "keep = None\n",
    ),
    "compiled": _probe(
        """x1 = step("compiled_first", lambda: memslab.MemSlab(16, 64, engine="compiled"), 1024)
x2 = step("compiled_further", lambda: memslab.MemSlab(16, 64, engine="compiled"), 1024)
r["compiled_engine"] = getattr(x1, "engine", None)
r["compiled_path"] = getattr(sys.modules.get("memslab._compiled"), "PATH", None)""",
        ("compiled_first", "compiled_further", "compiled_engine", "compiled_path"),
    ),
    "pool": _probe(
        """x1 = step("pool_first", lambda: memslab.MemPool(%(classes)r), %(blocks)d)
x2 = step("pool_further", lambda: memslab.MemPool(%(classes)r), %(blocks)d)"""
        % {"classes": POOL_CLASSES, "blocks": _POOL_BLOCKS},
        ("pool_first", "pool_further"),
    ),
}
SLAB_BLOCK = 16  # what a slab takes per 16-byte block: the block, nothing else


def probe_commands(port, names=tuple(PROBES)):
    """One mpremote session per probe: each soft-resets the board (no `resume`)."""
    return [[boards.MPREMOTE, "connect", port, "exec", PROBES[n]] for n in names]


def parse(output):
    """The probe's FOOTPRINT line as a dict; ValueError if there is none."""
    for line in reversed(output.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise ValueError("no %r line in the board's output" % MARK.strip())


def measure(port, runs=1):
    """Every probe, each `runs` times in a fresh interpreter: one dict of the figures
    (the smallest of the runs for each byte count) plus the break-even."""
    result: dict = {}
    for name, cmd in zip(PROBES, probe_commands(port)):
        seen = []
        for _ in range(runs):
            print("footprint-board: %s probe, %s" % (name, " ".join(cmd[:4])), flush=True)
            p = subprocess.run(cmd, capture_output=True, text=True, check=False)
            try:
                if p.returncode:
                    raise ValueError("mpremote exited with %d" % p.returncode)
                seen.append(parse(p.stdout))
            except ValueError as e:
                raise SystemExit(
                    "footprint-board: the %s probe failed (%s)\n%s%s"
                    % (name, e, p.stdout, p.stderr)
                ) from None
        for key in seen[0]:
            values = [s[key] for s in seen]
            ints = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
            result[key] = min(values) if ints else values[0]
    result["break_even"] = break_even(result)
    return result


def break_even(r):
    """Blocks of 16 bytes from which one slab (plus the import) takes less heap than a
    list of bytearray(16): fixed / (list's bytes per block - 16); None if not measurable."""
    parts = (r.get("import"), r.get("first_slab"), r.get("list_64x16"))
    if not all(isinstance(v, int) for v in parts):
        return None
    fixed = parts[0] + parts[1]
    per_block = parts[2] / 64
    saved = per_block - SLAB_BLOCK
    return {
        "fixed": fixed,
        "list_per_block": round(per_block, 1),
        "saved_per_block": round(saved, 1),
        "blocks": math.ceil(fixed / saved) if saved > 0 else None,
    }


def _cell(v):
    return "%d" % v if isinstance(v, int) and not isinstance(v, bool) else str(v or "n/a")


def header(r, port):
    files = r.get("files")
    where = r["file"]
    if files:
        where += " (%d files, %d bytes on the board)" % (len(files), sum(s for _, s in files))
    else:
        where += " (frozen)" if not r["file"].startswith("/") else ""
    return "%s on %s, %d KB heap; memslab from %s; a fresh interpreter per probe (%s)." % (
        r["implementation"],
        r["machine"],
        r["heap"] // 1024,
        where,
        port,
    )


def tables(r):
    """The heap table and the break-even, as Markdown lines."""
    engine = r.get("engine") or "n/a"
    if r.get("path"):
        engine += ": " + r["path"]
    compiled = r.get("compiled_engine") or "n/a"
    if r.get("compiled_path") and r["compiled_path"] != compiled:
        compiled += ": " + r["compiled_path"]
    rows = [
        ("`import memslab`, kept", r.get("import")),
        ("`import memslab`, then a first slab built and dropped", r.get("with_slab")),
        ("first `MemSlab(16, 64)` beyond its blocks (%s)" % engine, r.get("first_slab")),
        ("each further `MemSlab(16, 64)`", r.get("further_slab")),
        (
            'first `engine="compiled"` `MemSlab(16, 64)` beyond its blocks (%s)' % compiled,
            r.get("compiled_first"),
        ),
        ('each further `engine="compiled"` slab', r.get("compiled_further")),
        ("first 3-class `MemPool` beyond its blocks %s" % (POOL_CLASSES,), r.get("pool_first")),
        ("each further 3-class `MemPool`", r.get("pool_further")),
        ("a list of 64 `bytearray(16)` (a hand-written pool), all of it", r.get("list_64x16")),
    ]
    out = ["| heap on the board | bytes |", "| --- | ---: |"]
    out += ["| %s | %s |" % (name, _cell(v)) for name, v in rows]
    if r.get("recompiled"):
        out += ["", "The viper engine was compiled at run time: %s." % r["recompiled"]]
    if r.get("viper_error"):
        out += ["", "No viper engine: %s." % r["viper_error"]]
    b = r.get("break_even")
    if b:
        out += [
            "",
            "| break-even against a list of `bytearray(16)` | |",
            "| --- | ---: |",
            "| memslab's fixed heap: `import memslab` + the first slab beyond its blocks "
            "| %d B |" % b["fixed"],
            "| a list's heap per 16-byte block (64 blocks) | %.1f B |" % b["list_per_block"],
            "| a slab's heap per 16-byte block | %d B |" % SLAB_BLOCK,
            "| blocks from which one slab takes less heap than the list | %s |"
            % _cell(b["blocks"]),
        ]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--port", default="auto")
    ap.add_argument("--runs", type=int, default=1, help="probes per figure (the least is kept)")
    ap.add_argument("--out", default=str(ROOT / "results" / "footprint-board.json"))
    args = ap.parse_args(argv)
    r = measure(args.port, args.runs)
    text = "\n".join([header(r, args.port), "", *tables(r)]) + "\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(r, indent=2) + "\n")
    out.with_suffix(".md").write_text(text)
    print()
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
