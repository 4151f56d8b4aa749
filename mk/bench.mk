# `make bench`: memslab against the list pool, fresh bytearrays and the call
# floor, heap per block, GC behaviour, scaling and footprint, all in one run.
# Writes results/bench.json and results/bench.md. Not part of `make test`
# (host_tests/test_bench.py runs it in --quick mode instead).
BENCH_ARGS ?=

.PHONY: bench

bench: setup
	$(PY) tools/bench.py $(BENCH_ARGS)
