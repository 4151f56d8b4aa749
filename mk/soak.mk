# Long-running soak (not part of `make test`): threads + asyncio tasks + a
# heap-locked "interrupt" thread trading blocks of one threadsafe slab, for
# SOAK_OPS alloc+free pairs per actor, on each engine and mode.
SOAK_OPS ?= 200000

.PHONY: soak

soak: setup
	cd tools && for args in "python" "python checked" "viper" "viper checked"; do \
		MICROPYPATH=.frozen:../modules ../$(MICROPYTHON) soak.py $(SOAK_OPS) $$args || exit 1; \
	done
