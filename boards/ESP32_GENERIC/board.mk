# ESP32 (Xtensa LX6, windowed ABI), no PSRAM. Read by mk/board.mk and tools/boards.py.
ARCH := xtensawin
HEAP_KB := 110
STUBS := micropython-esp32-stubs==1.29.0.post1
