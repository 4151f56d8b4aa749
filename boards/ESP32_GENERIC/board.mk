# ESP32 (Xtensa LX6, windowed ABI), no PSRAM. Parsed by tools/boards.py only (make asks it).
ARCH := xtensawin
HEAP_KB := 110
STUBS := micropython-esp32-stubs==1.29.0.post1
