"""The state of a slab, word by word: the one contract between its parts.

Every slab owns one small bytearray, its *state*: WORDS (twelve) native
32-bit words, then (checked=True only) one bit per block.

    word  name   holds
    0     HEAD   the first free block; N when none is free (the list's end)
    1     USED   blocks allocated now (num_used)
    2     MAX    the most ever allocated at once (max_used; reset_max())
    3     N      num_blocks
    4     WPB    words per block (block_size // 4)
    5     WAIT   tasks/threads waiting for a block; free() hands its block
                 to the oldest of them while this is not 0
    6     BUF    viper engine: the blocks' address minus the state's, + BIAS,
                 mod 2**32 (see _viper.py)
    7     CHECKED viper engine: 1 when checked
    8-11  BOX    viper and compiled engines: the cell their closures share
                 (the box), moved here by _viper.find_box(); its value is word
                 10 (VAL), word 11 its high half on a 64-bit port
                 (6 to 11 are written by make(), unused by python)
    byte 48..    BITS: bit h set = block h allocated (checked=True only)

A free block holds the index of the next free block in its first word (N
ends the list); checked=True fills its other words with POISON. Indices stay
below 2**30 and POISON is below 2**30 too, so they are small ints on 32-bit
boards and reading them never allocates.

The engines (_python.py, _viper.py, _compiled.py) build the list and return
the hot path:
    build(state, blocks, checked)            thread every block onto the list
    make(slab, state, checked)               -> (alloc, free), closures over the state
and call back into the slab only on slow paths, each of which raises or
hands a block on: slab._reject(h) (free refused), slab._corrupt(h) (block h's
link is unsound), slab._poisoned(h, offset) (a write after free), and
slab._handoff(h) (WAIT is not 0). The python engine, whose checks a
scheduled callback can cut into, asks slab._recheck(h) instead: it raises if
block h is unsound at one instant, else returns None and alloc looks again. The viper engine cannot import names, so it
keeps const() copies of these numbers; host_tests/test_layout.py proves
every copy equal to this file. _errors.words(state, WORDS) reads the words
from Python (a uctypes view: no copy, nothing allocated per read).
"""

from micropython import const

HEAD = const(0)
USED = const(1)
MAX = const(2)
N = const(3)
WPB = const(4)
WAIT = const(5)
BUF = const(6)
CHECKED = const(7)
BOX = const(8)
VAL = const(10)
WORDS = const(12)
BITS = const(48)  # byte offset of the checked-mode bitmap
POISON = const(0x3A3A3A3A)  # each byte 0x3A; a small int on every board
