# ESP32-C3 (RISC-V RV32IMC). Parsed by tools/boards.py only (make asks it).
ARCH := rv32imc
HEAP_KB := 130
STUBS := micropython-esp32-esp32-generic-c3-stubs==1.29.0.post1
