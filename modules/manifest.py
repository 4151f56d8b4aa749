# Freeze memslab into a MicroPython firmware image (see README.md, "Installing on a board").
# From the port directory of a MicroPython checkout:
#   make BOARD=RPI_PICO FROZEN_MANIFEST=/path/to/my_manifest.py
# with my_manifest.py holding
#   include("$(PORT_DIR)/boards/manifest.py")   # keep the port's own frozen modules
#   include("/path/to/memslab/modules")         # this file
# The port compiles the package with its own -march, so the viper engine is frozen
# as native code. The version is kept equal to package.json and memslab.__version__.
metadata(
    description="Zephyr-style memory slabs: fixed-size blocks, O(1) alloc/free, IRQ-safe",
    version="0.1.0",
)

package("memslab")
