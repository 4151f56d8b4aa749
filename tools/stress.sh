#!/usr/bin/env bash
# make test-stress: the timing-sensitive tests again and again, in parallel, while
# CPU hogs load the machine, so a flake shows in minutes instead of in CI.
#
#   tools/stress.sh                  (from the project root, after make setup and
#                                     make firmware-UNIX; settings from the environment)
#   STRESS_SECONDS  how long to keep starting runs (default 120); a run under way
#                   at the end is finished and counted
#   STRESS_JOBS     runs at a time (default 3)
#   STRESS_HOGS     busy-loop processes beside them (default 2)
#   STRESS_K        pytest -k expression of the items to repeat
#                   (default "test_threads or test_async or test_irq or test_pipeline or test_memory")
#   STRESS_SUITE    the modules of the one-process suite (default: every
#                   host_tests/mp/test_*.py, in order, as run.py runs them)
#   STRESS_RUN_TIMEOUT  seconds one run may take before it counts as a hang (default 600)
#
# Each job repeats, until the time is up:
#   pytest   the STRESS_K items of host_tests (one micropython per item, every
#            engine and variant), and
#   suite    run.py's main() over STRESS_SUITE: every MicroPython-side module in ONE process, as
#            make test-board and test_mip run them, once against modules/ and once
#            against the x64 .mpy build: a test that depends on what an earlier test
#            left on the heap fails here.
# Prints the runs, items and failures, each failure's first lines (full logs in
# results/stress/), and exits 1 if any run failed or hung.
set -u

ROOT=$(pwd)
MP=$ROOT/.venv/bin/micropython
OUT=$ROOT/results/stress

if [ "${1:-}" = "--worker" ]; then
  job=$2 end=$3 k=$4 run_timeout=$5 suite=$6
  n=0
  while [ "$(date +%s)" -lt "$end" ]; do
    n=$((n + 1))
    log=$OUT/job$job-run$n-pytest.log
    t0=$(date +%s)
    timeout -k 10 "$run_timeout" .venv/bin/pytest -q -p no:cacheprovider host_tests -k "$k" >"$log" 2>&1
    rc=$?
    items=$(grep -Eo '[0-9]+ passed' "$log" | tail -1 | cut -d' ' -f1)
    fails=$(grep -Eo '[0-9]+ (failed|error)' "$log" | awk '{s += $1} END {print s + 0}')
    echo "pytest $rc $((${items:-0} + fails)) $(($(date +%s) - t0)) $log" >>"$OUT/runs"
    [ "$rc" -eq 0 ] && rm -f "$log"
    for lib in modules firmware/UNIX/lib; do
      log=$OUT/job$job-run$n-suite-${lib//\//_}.log
      t0=$(date +%s)
      (cd host_tests/mp && MICROPYPATH=".frozen:$ROOT/$lib:." timeout -k 10 "$run_timeout" \
        "$MP" -c "import run, sys; sys.exit(sum([run.main([m]) for m in '$suite'.split()]))") >"$log" 2>&1
      rc=$?
      grep -q '^FAIL ' "$log" && [ "$rc" -eq 0 ] && rc=1
      grep -q '^PASS ' "$log" || [ "$rc" -ne 0 ] || rc=1
      items=$(grep -Ec '^(PASS|FAIL|SKIP) ' "$log")
      echo "suite $rc ${items:-0} $(($(date +%s) - t0)) $log" >>"$OUT/runs"
      [ "$rc" -eq 0 ] && rm -f "$log"
    done
  done
  exit 0
fi

secs=${STRESS_SECONDS:-120}
jobs=${STRESS_JOBS:-3}
hogs=${STRESS_HOGS:-2}
k=${STRESS_K:-"test_threads or test_async or test_irq or test_pipeline or test_memory"}
run_timeout=${STRESS_RUN_TIMEOUT:-600}
suite=${STRESS_SUITE:-$(cd host_tests/mp && ls test_*.py | sed 's/[.]py$//' | tr '\n' ' ')}

[ -x .venv/bin/pytest ] && [ -x "$MP" ] || {
  echo "test-stress: run it from the project root after make setup"
  exit 2
}
[ -d firmware/UNIX/lib/memslab ] || {
  echo "test-stress: firmware/UNIX/lib is missing: make firmware-UNIX"
  exit 2
}
rm -rf "$OUT"
mkdir -p "$OUT"
: >"$OUT/runs"

pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null
  done
}
trap cleanup EXIT
trap 'echo "test-stress: interrupted"; exit 130' INT TERM

# Hogs end on their own at the latest when the last run could have ended.
for _ in $(seq "$hogs"); do
  setsid timeout "$((secs + run_timeout + 60))" sh -c 'while :; do :; done' &
  pids+=($!)
done

start=$(date +%s)
end=$((start + secs))
echo "test-stress: ${secs}s, $jobs jobs beside $hogs CPU hogs on $(nproc) cores"
echo "  pytest -k '$k'; one-process suite: $suite"
workers=()
for j in $(seq "$jobs"); do
  setsid "$0" --worker "$j" "$end" "$k" "$run_timeout" "$suite" &
  workers+=($!)
  pids+=($!)
done
wait "${workers[@]}"
took=$(($(date +%s) - start))

summary=$(awk '
  { runs[$1]++; items[$1] += $3; if ($2 != 0) { bad[$1]++; allbad++ } }
  END {
    for (t in runs) printf "%s: %d runs, %d test items, %d failed\n", t, runs[t], items[t], bad[t] + 0
    printf "TOTAL %d %d\n", NR, allbad + 0
  }' "$OUT/runs")
echo "$summary" | grep -v '^TOTAL' | sed 's/^/  /'
read -r _ total bad <<<"$(echo "$summary" | grep '^TOTAL')"
echo "test-stress: $total runs in ${took}s, $bad failed"
if [ "$bad" -ne 0 ]; then
  echo "failures (count, test):"
  {
    cat "$OUT"/*-pytest.log 2>/dev/null | grep -E '^(FAILED|ERROR) ' | sed 's/ - .*//'
    cat "$OUT"/*-suite-*.log 2>/dev/null | grep -E '^FAIL ' | sed 's/^FAIL /FAIL (one-process suite) /'
  } | sort | uniq -c | sort -rn
  awk '$2 == 124 || $2 == 137 { print "  hung (no result in the run time limit): " $5 }' "$OUT/runs"
  first=$(awk '$2 != 0 { print $5; exit }' "$OUT/runs")
  echo "--- first failure, $first:"
  grep -v '^\.*\s*\[' "$first" | head -40
  exit 1
fi
