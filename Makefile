# memslab: every workflow is a target. A fresh clone needs only `make demo` and `make test`.
VENV        ?= .venv
PYTHON      ?= python3
PY          := $(VENV)/bin/python
MICROPYTHON := $(VENV)/bin/micropython
STAMP       := $(VENV)/.installed-$(shell cksum < requirements-dev.txt | cut -d' ' -f1)

# Extra prerequisites of `make test`, added by the fragments in mk/.
TEST_DEPS :=
include $(wildcard mk/*.mk)

.PHONY: setup demo test clean

setup: $(STAMP)

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: setup
	MICROPYPATH=.frozen:modules $(MICROPYTHON) boards/UNIX/demo.py

test: setup $(TEST_DEPS)
	$(VENV)/bin/pytest -q host_tests

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
