# `make bench-board PORT=...` and `make footprint-board PORT=...`: `make bench` and the
# heap figures of `make footprint`, measured on a connected board through mpremote
# (tools/bench_board.py, tools/footprint_board.py) against the package `make deploy`
# puts in /lib/memslab: both deploy first, as test-board does. They write
# results/bench-board.json|md and results/footprint-board.json|md.
# BENCH_BOARD_ARGS: --quick, --pairs N, --repeats N, --messages N, --no-footprint, --out-dir D.
# FOOTPRINT_BOARD_ARGS: --runs N, --out FILE.json.
BENCH_BOARD_ARGS ?=
FOOTPRINT_BOARD_ARGS ?=

.PHONY: bench-board footprint-board

bench-board: deploy
	$(PY) tools/bench_board.py --port $(PORT) $(BENCH_BOARD_ARGS)

footprint-board: deploy
	$(PY) tools/footprint_board.py --port $(PORT) $(FOOTPRINT_BOARD_ARGS)
