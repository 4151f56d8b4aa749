# Static checks, both prerequisites of `make test` (see the Makefile):
#   lint       ruff check over the package, tests, board code and tools
#   typecheck  pyright on modules/ and each board's code against that board's
#              micropython-*-stubs (installed into typings/<BOARD>/ by tools/typecheck.py),
#              and on the host-side tools (CPython 3.11; tools/pyrightconfig.json)
#   format-check  ruff format --check (not part of `make test` yet)
LINT_DIRS := modules host_tests boards tools

.PHONY: lint typecheck format-check


lint: setup
	$(VENV)/bin/ruff check $(LINT_DIRS)

format-check: setup
	$(VENV)/bin/ruff format --check $(LINT_DIRS)

typecheck: setup
	$(PY) tools/typecheck.py
	$(VENV)/bin/pyright -p tools/pyrightconfig.json
