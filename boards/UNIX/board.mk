# MicroPython Unix port on an x86-64 host (.venv/bin/micropython). Parsed by tools/boards.py only (make asks it).
ARCH := x64
HEAP_KB := 2048
STUBS := micropython-unix-stubs==1.29.0.post1
# The x64 Unix port has 63-bit small ints: compile as its own runtime compiler does.
MPY_CROSS_FLAGS := -msmall-int-bits=63
