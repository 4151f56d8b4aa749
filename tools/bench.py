"""`make bench`: memslab against what users would pick instead, in one run.

    python tools/bench.py [--quick] [--lib modules] [--out-dir results]

Runs host_tests/bench/bench.py in the real `micropython` (pairs, heap and
scaling with an 8 MB heap; the message run with a board-sized 192 KB heap so
that fresh allocation has to collect), adds the footprint from
tools/footprint.py, prints Markdown tables and writes results/bench.json and
results/bench.md.
"""

import argparse
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
BENCH = ROOT / "host_tests" / "bench" / "bench.py"

# (heap, sections): the message run gets a board's heap, the rest room for 65,536 blocks.
RUNS = (("8M", ["pairs", "heap", "scaling"]), ("192K", ["messages"]))

PAIR_NOTES = {
    "list pool": "the baseline: `pool.pop()` / `pool.append(b)` on a list of bytearrays",
    "viper": "the default engine wherever MicroPython has a native emitter",
    "python": "the fallback engine for ports without one",
    "viper threadsafe": "IRQs masked (boards) or a lock (Unix) around each call",
    "python threadsafe": "the same guard around the python engine",
    "viper checked": "ownership bit + poison check on every call, for debugging",
    "python checked": "the same checks in bytecode",
    "fresh bytearray": "`bytearray(16)` per message: cheap now, paid back in GC pauses",
    "viper call floor": "two empty viper closures called like alloc/free: the runtime's floor",
    "python call floor": "two empty bytecode closures called the same way",
    "empty loop": "the `for` loop itself, subtracted from every other row",
}


def run_bench(lib, heap, sections, quick):
    env = dict(os.environ, MICROPYPATH=".frozen:%s" % lib)
    args = [str(BIN / "micropython"), "-X", "heapsize=" + heap, str(BENCH), *sections]
    if quick:
        args.append("quick")
    r = subprocess.run(
        args, env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True, check=False
    )
    if r.returncode != 0:
        raise SystemExit("bench.py failed (%s):\n%s%s" % (" ".join(args), r.stdout, r.stderr))
    return json.loads(r.stdout.strip().splitlines()[-1])


def machine():
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "%s, %d cores, %s" % (model, os.cpu_count() or 1, platform.system())


def footprint_numbers():
    result = {"mpy_bytes": {}, "import_heap_bytes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for b in footprint.boards.board_names():
            sizes = footprint.build(b, Path(tmp) / b)
            result["mpy_bytes"][b] = sum(v for v in sizes.values() if isinstance(v, int))
        result["import_heap_bytes"]["py"] = footprint.import_heap(ROOT / "modules")
        result["import_heap_bytes"]["mpy"] = footprint.import_heap(Path(tmp) / "UNIX")
    return result


def markdown(r):
    out = [
        "MicroPython %s (%s), %s; `make bench`%s; best of %d runs of %d pairs each."
        % (
            r["implementation"],
            r["platform"],
            r["machine"],
            " --quick" if r["quick"] else "",
            r["repeats"],
            r["pairs_per_run"],
        ),
        "",
        "| alloc + free pair | ns per pair | × list pool | what it is |",
        "| --- | ---: | ---: | --- |",
    ]
    for p in r["pairs"]:
        ratio = "" if p["ratio"] is None else "%.2f×" % p["ratio"]
        ns = "%.0f (raw %.0f)" % (p["ns"], p["raw_ns"]) if p["ratio"] is None else "%.0f" % p["ns"]
        out.append("| %s | %s | %s | %s |" % (p["name"], ns, ratio, PAIR_NOTES.get(p["name"], "")))
    out += [
        "",
        "| heap bytes per block (64 blocks) | memslab | list of bytearrays | bytearray per message |",
        "| --- | ---: | ---: | ---: |",
    ]
    for h in r["heap"]:
        out.append(
            "| %d-byte blocks | %.1f | %.1f | %d |"
            % (h["block_size"], h["memslab"], h["list pool"], h["fresh bytearray"])
        )
    m0 = r["messages"][0]
    out += [
        "",
        "| %d messages of 64 bytes, %s KB heap | GC collections | bytes allocated | longest take (µs) | ran under heap_lock |"
        % (m0["messages"], r["messages_heap_kb"]),
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for m in r["messages"]:
        locked = "yes" if m.get("heap_locked_ok") else ("" if "heap_locked_ok" not in m else "no")
        out.append(
            "| %s | %d | %s | %d | %s |"
            % (
                m["name"],
                m["collections"],
                m.get("bytes_allocated", "n/a"),
                m["longest_pause_us"],
                locked,
            )
        )
    out += [
        "",
        "| pair with half the blocks held in a FIFO ring | ns per pair |",
        "| --- | ---: |",
    ]
    for s in r["scaling"]:
        out.append("| %s engine, %d blocks | %.0f |" % (s["engine"], s["blocks"], s["ns"]))
    f = r["footprint"]
    out += ["", "| footprint | bytes |", "| --- | ---: |"]
    for b, n in f["mpy_bytes"].items():
        out.append("| `.mpy` total, %s | %d |" % (b, n))
    for kind, n in f["import_heap_bytes"].items():
        out.append(
            "| `import memslab` from `.%s`: heap kept / peak | %d / %d |"
            % (kind, n["kept"], n["peak"])
        )
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few thousand pairs: a smoke run")
    ap.add_argument("--lib", default=str(ROOT / "modules"), help="where memslab is imported from")
    ap.add_argument("--out-dir", default=str(ROOT / "results"))
    args = ap.parse_args(argv)
    result = {}
    for heap, sections in RUNS:
        part = run_bench(args.lib, heap, sections, args.quick)
        if "messages" in sections:
            result["messages_heap_kb"] = part["heap_kb"]
        result.update({k: v for k, v in part.items() if k != "heap_kb"})
    result["machine"] = machine()
    result["footprint"] = footprint_numbers()
    text = markdown(result)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "bench.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
