# `make test-stress` (not part of `make test`): the concurrency, async and heap
# tests (threads, async, irq, pipeline, memory, queue) again and again, STRESS_JOBS at a
# time beside STRESS_HOGS busy loops, for STRESS_SECONDS; plus the whole
# MicroPython-side suite in one process (as on a board). Prints runs and failures;
# fails on any failed or hung run. See tools/stress.sh.
STRESS_SECONDS     ?= 120
STRESS_JOBS        ?= 3
STRESS_HOGS        ?= 2
STRESS_K           ?= test_threads or test_async or test_irq or test_pipeline or test_memory or test_schedule or test_wait or test_vboard or test_queue
STRESS_RUN_TIMEOUT ?= 600
# modules run one after another in one micropython (empty: every test_*.py)
STRESS_SUITE       ?=

.PHONY: test-stress

test-stress: setup firmware-UNIX
	STRESS_SECONDS=$(STRESS_SECONDS) STRESS_JOBS=$(STRESS_JOBS) STRESS_HOGS=$(STRESS_HOGS) \
	STRESS_K="$(STRESS_K)" STRESS_RUN_TIMEOUT=$(STRESS_RUN_TIMEOUT) STRESS_SUITE="$(STRESS_SUITE)" \
	tools/stress.sh
