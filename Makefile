# memslab: every workflow is a target. A fresh clone needs only `make demo` and `make test`.
VENV        ?= .venv
PYTHON      ?= python3
PY          := $(VENV)/bin/python
MICROPYTHON := $(VENV)/bin/micropython
STAMP       := $(VENV)/.installed-$(shell cksum < requirements-dev.txt | cut -d' ' -f1)

.DEFAULT_GOAL := help

# Board builds, bench, checks, soak, stress: one fragment each in mk/.
include $(wildcard mk/*.mk)

.PHONY: help setup demo test clean

help: setup
	@echo "memslab: make <target>"
	@echo "  demo        a slab on the Unix port: alloc/free, the picture, the counters"
	@echo "  test        the whole suite (lint, typecheck, x64 .mpy build, pytest incl. the virtual board)"
	@echo "  test-stress the concurrency and async tests again and again under CPU load"
	@echo "  bench       speed and memory against a list pool and fresh bytearrays"
	@echo "  footprint   .mpy size per board, heap taken by import memslab"
	@echo "  firmware    .mpy trees per board in firmware/<BOARD>/lib"
	@echo "  deploy      copy a board's build to a device:  BOARD=RPI_PICO PORT=/dev/ttyACM0"
	@echo "  test-board  deploy, then run host_tests/mp on the device"
	@echo "  bench-board      deploy, then make bench's measurements on the device:  PORT=/dev/ttyACM0"
	@echo "  footprint-board  deploy, then the heap memslab takes there: import, slabs, MemPool, break-even"
	@echo "  soak        long threads + tasks + IRQ run (not in CI)"
	@echo "  clean       remove .venv, results and caches"

setup: $(STAMP)

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: setup
	MICROPYPATH=.frozen:modules $(MICROPYTHON) boards/UNIX/demo.py

# lint, typecheck: mk/checks.mk; firmware-UNIX (the x64 .mpy the suite also runs): mk/board.mk
test: setup lint typecheck firmware-UNIX
	$(VENV)/bin/pytest -q host_tests

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
