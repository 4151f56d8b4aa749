# Raspberry Pi Pico (RP2040, Cortex-M0+). Read by mk/board.mk and tools/boards.py.
ARCH := armv6m
HEAP_KB := 160
STUBS := micropython-rp2-rpi-pico-stubs==1.29.0.post1
