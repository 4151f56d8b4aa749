# Freeze memslab into a MicroPython firmware image (see README.md, "Installing on a board").
# From the port directory of a MicroPython checkout:
#   make BOARD=RPI_PICO FROZEN_MANIFEST=/path/to/my_manifest.py
# with my_manifest.py holding
#   include("$(PORT_DIR)/boards/manifest.py")   # keep the port's own frozen modules
#   include("/path/to/memslab/modules")         # this file
# or, for a small board that never waits in asyncio (drops the asyncio glue):
#   include("/path/to/memslab/modules", asyncio=False)
# The port compiles the package with its own -march, so the viper engine is frozen
# as native code.
#
# The version below is memslab's one version: tools/package_json.py writes it (and the
# file list) into package.json for mip, and a test keeps the two equal.
options.defaults(asyncio=True)

metadata(
    description="Zephyr-style memory slabs: fixed-size blocks, O(1) alloc/free, IRQ-safe",
    version="0.3.0",
)

if options.asyncio:
    package("memslab")
else:
    import os  # the manifest's directory is the working directory while it runs

    package(
        "memslab",
        files=sorted(f for f in os.listdir("memslab") if f.endswith(".py") and f != "_async.py"),
    )
