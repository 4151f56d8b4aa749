# Raspberry Pi Pico (RP2040, Cortex-M0+). Parsed by tools/boards.py only (make asks it).
ARCH := armv6m
HEAP_KB := 235
STUBS := micropython-rp2-rpi-pico-stubs==1.29.0.post1
