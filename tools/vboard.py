"""A virtual MicroPython board on a pseudo-terminal, for the real `mpremote`.

    python tools/vboard.py [--dir DIR] [--board B | --heap-kb N] [--flash-kb N]

Prints `vboard: port /dev/pts/N` (and writes DIR/port) and serves until SIGTERM/SIGINT.
Then `mpremote connect /dev/pts/N ...`, `make deploy BOARD=UNIX PORT=/dev/pts/N` and
`make test-board BOARD=UNIX PORT=/dev/pts/N` talk to it as to a board on a serial line.

What makes it a board rather than a process:
- Its filesystem is DIR/flash.img, a littlefs2 image (formatted on first boot, as the rp2
  port does) mounted at `/` in place of the host's filesystem: `:/lib/...` lands in the
  image, never in the host's /lib, and survives resets. `sys.path` is
  `['', '.frozen', '/lib']` (`.frozen`: the Unix port's frozen asyncio); `sys.argv` is
  empty; `/boot.py` runs at every boot, `/main.py` only when resetting into the friendly
  REPL, as on a board.
- A board-sized heap: `-X heapsize=<HEAP_KB>K`, HEAP_KB from boards/<B>/board.mk
  (default RPI_PICO; the code is x64, whose objects are bigger than on a 32-bit board).
- A soft reset survives. The Unix port ends its process where a board soft-resets
  (Ctrl-D at an empty REPL line, `sys.exit()`); the supervisor then does what a board's
  main loop does (shared/runtime/pyexec.c and the ports' main.c, as mpremote's
  transport_serial.py expects them): after the REPL's `OK\\r\\n` it sends
  `MPY: soft reboot\\r\\n`, boots a new interpreter on the same image and, if the board was
  in the raw REPL, comes back in it (`raw REPL; CTRL-B to exit\\r\\n>`, no banner) -- else
  in the friendly REPL with its banner.
- Ctrl-C: while code runs with `micropython.kbd_intr(3)` (the default), 0x03 from the
  host interrupts it (the supervisor turns it into SIGINT); at the REPL, or after
  `kbd_intr(-1)` (mpremote's mount protocol), it is an ordinary byte.

Left as the Unix port does it: `print` writes `\\n`, not `\\r\\n` (mpremote accepts both);
no `machine` module; `sys.platform` is 'linux'.

From Python: `with running(tmpdir) as vb: ... vb.port ...` starts this script as a
subprocess and stops it (and its interpreter) on exit; `image_files(vb.image)` lists the
image's files (size, sha256) through a second, independent interpreter.
"""

import argparse
import contextlib
import errno
import json
import os
import pty
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import tty
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MICROPYTHON = str(BIN / "micropython")
BLOCK = 4096

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
FRIENDLY_BANNER = b'Type "help()" for more information.\r\n'
SOFT_REBOOT = b"MPY: soft reboot\r\n"
READY = b"\x00vboard: ready\x00"  # printed by the boot script right before the REPL
CTRL_C = 0x03
TRACE = bool(os.environ.get("VBOARD_TRACE"))  # log every byte both ways to stderr

# A block device over a file (littlefs's extended block API), in MicroPython.
BDEV = r"""
class FileBlockDevice:
    def __init__(self, f, bs):
        self.f, self.bs, self.n = f, bs, f.seek(0, 2) // bs

    def readblocks(self, block, buf, off=0):
        self.f.seek(block * self.bs + off)
        self.f.readinto(buf)

    def writeblocks(self, block, buf, off=None):
        self.f.seek(block * self.bs + (off or 0))
        self.f.write(buf)
        self.f.flush()

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.n
        if op == 5:  # block size
            return self.bs
        if op == 6:  # erase: nothing to do in a file
            return 0
        return None
"""

# The interpreter's boot script (argv: image, "raw"|"friendly"): mount the image at / in
# place of the host's filesystem, run boot.py (and main.py), print READY, leave the REPL
# with clean globals. If the image cannot be mounted it exits instead: never a REPL on the
# host's filesystem.
BOOT = (
    "import os, sys, vfs\n"
    + BDEV
    + r"""

def _boot(image, mode):
    bdev = FileBlockDevice(open(image, "r+b"), %(block)d)
    try:
        fs = vfs.VfsLfs2(bdev)
    except OSError:  # a new image: format it, as the rp2 port's _boot.py does
        vfs.VfsLfs2.mkfs(bdev)
        fs = vfs.VfsLfs2(bdev)
    vfs.umount("/")  # the host's filesystem (VfsPosix) is gone from here on
    vfs.mount(fs, "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib"]
    sys.argv[:] = []


def _run(g, mode):
    for name in ["boot.py", "main.py"] if mode == "friendly" else ["boot.py"]:
        try:
            os.stat(name)
        except OSError:
            continue
        try:
            with open(name) as src:
                exec(src.read(), g)
        except BaseException as e:  # a board prints it and carries on
            sys.print_exception(e)


def _reset():
    # the end of the process is this board's soft reset: run every finaliser, as a
    # board's gc_sweep_all() does, so a file left open is closed (its data committed)
    import gc
    import sys

    globals().clear()
    for m in list(sys.modules):
        del sys.modules[m]
    gc.collect()


def _clean(g, keep):
    for k in list(g):
        if k != "__name__":
            del g[k]
    g.update(keep)


_mode = sys.argv[2]
try:
    _boot(sys.argv[1], _mode)
except BaseException as e:
    sys.print_exception(e)
    sys.exit(3)
sys.atexit(_reset)
_g = {"__name__": "__main__"}
_run(_g, _mode)
sys.stdout.write(%(ready)r)
_clean(globals(), _g)
__import__("micropython").kbd_intr(-1)  # as after any execution: ^C is a byte at the REPL
"""
    % {"block": BLOCK, "ready": READY.decode()}
)


def board_heap_kb(board):
    """HEAP_KB of boards/<board>/board.mk, through tools/boards.py (the one parser)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import boards

    return int(boards.read_board(board)["HEAP_KB"])


def _sigint_caught(pid):
    """True if process `pid` has a SIGINT handler (MicroPython's kbd_intr(3) is on)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    except OSError:
        pass
    return False


class Supervisor:
    """The board: a pty for the host, an interpreter on a second pty, the bytes between."""

    def __init__(self, workdir, heap_kb, flash_kb=1024, log=None):
        self.dir = Path(workdir)
        self.heap_kb = heap_kb
        self.image = self.dir / "flash.img"
        self.boot_script = self.dir / "vboot.py"
        self.log = log or sys.stderr
        if not self.image.exists():
            with open(self.image, "wb") as f:
                f.truncate(flash_kb * 1024)
        self.boot_script.write_text(BOOT)
        # the host side: mpremote opens the slave by its name; we keep a slave fd open
        # ourselves so the master never sees a hang-up between two mpremote sessions
        self.host, self._host_slave = pty.openpty()
        tty.setraw(self._host_slave)
        self.port = os.ttyname(self._host_slave)
        os.set_blocking(self.host, False)
        self.child = None
        self.child_fd = -1
        self.mode = "friendly"  # the REPL a (re)boot enters: a board powers up friendly
        self.boots = 0
        self._out = bytearray()  # to the host, not yet written
        self._held = bytearray()  # child output held back while booting
        self._pending = bytearray()  # host input held until the REPL reads
        self._in = bytearray()  # to the interpreter, not yet written
        self._state = "boot"
        self._tail = b""  # recent child output, to spot the REPL banners

    # -- the interpreter -------------------------------------------------------
    def _spawn(self):
        fd, slave = pty.openpty()
        tty.setraw(slave)
        env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}
        argv = [MICROPYTHON, "-X", "heapsize=%dK" % self.heap_kb, "-i"]
        argv += [str(self.boot_script), str(self.image), self.mode]
        self.child = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=str(self.dir),
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        os.set_blocking(fd, False)
        self.child_fd = fd
        self.boots += 1
        self._state = "boot"
        self._held.clear()
        self._tail = b""
        self.log.write(
            "vboard: boot %d (%s REPL), pid %d\n" % (self.boots, self.mode, self.child.pid)
        )
        self.log.flush()

    def _child_exited(self):
        assert self.child is not None  # only called once a child ran
        rc = self.child.wait()
        os.close(self.child_fd)
        self.child_fd = -1
        booted = self._state == "run"
        self.log.write("vboard: interpreter exited (%d); soft reboot\n" % rc)
        self.log.flush()
        if not booted:
            raise RuntimeError("the interpreter died while booting (exit %d)" % rc)
        self._state = "boot"
        self._pending.clear()  # a board's input buffer does not survive the reset
        self._in.clear()
        self._to_host(SOFT_REBOOT)
        self._spawn()

    # -- bytes -----------------------------------------------------------------
    def _to_host(self, data):
        self._out += data
        if len(self._out) > 1 << 20:  # nobody reads the port: a board drops output too
            del self._out[: len(self._out) - (1 << 20)]

    def _to_child(self, data):
        self._in += data

    def _note_mode(self, data):
        """Follow which REPL the interpreter is in from what it prints."""
        t = self._tail + bytes(data)
        r, f = t.rfind(RAW_BANNER), t.rfind(FRIENDLY_BANNER)
        if r > f:
            self.mode = "raw"
        elif f > r:
            self.mode = "friendly"
        self._tail = t[-64:]

    def _child_output(self, data):
        if TRACE:
            self.log.write("vboard: board< %r (%s)\n" % (bytes(data), self._state))
        if self._state == "run":
            self._note_mode(data)
            self._to_host(data)
            return
        self._held += data
        if self._state == "boot":
            i = self._held.find(READY)
            if i < 0:
                # boot.py / main.py output goes out as it comes (less a possible
                # start of the ready mark)
                keep = 0
                for k in range(1, len(READY)):
                    if self._held.endswith(READY[:k]):
                        keep = k
                out = self._held[: len(self._held) - keep]
                self._to_host(bytes(out))
                del self._held[: len(out)]
                return
            self._to_host(bytes(self._held[:i]))
            del self._held[: i + len(READY)]
            self._state = "banner"
        if self._state == "banner":
            # the interpreter starts its friendly REPL: banner, then ">>> "
            if not self._held.endswith(b">>> "):
                return
            if self.mode == "friendly":
                rest = bytes(self._held)
                self._held.clear()
                self._state = "run"
                self._note_mode(rest)
                self._to_host(rest)
                self._flush_pending()
                return
            self._held.clear()  # a board reset into the raw REPL prints no banner
            self._state = "to_raw"
            self._to_child(b"\x01")
            return
        if self._state == "to_raw":
            i = self._held.find(RAW_BANNER)
            if i < 0:
                return
            rest = bytes(self._held[i:])
            self._held.clear()
            self._state = "run"
            self._note_mode(rest)
            self._to_host(rest)
            self._flush_pending()

    def _flush_pending(self):
        data = bytes(self._pending)
        self._pending.clear()
        if data:
            self._host_input(data)

    def _host_input(self, data):
        if TRACE:
            self.log.write("vboard: host> %r (%s)\n" % (bytes(data), self._state))
        assert self.child is not None  # the board has booted once before any input
        pid = self.child.pid
        if self._state != "run":
            # booting: input waits for the REPL, but Ctrl-C stops a main.py that runs
            if CTRL_C in data and _sigint_caught(pid):
                os.kill(pid, signal.SIGINT)
                data = data.replace(bytes([CTRL_C]), b"")
            self._pending += data
            return
        while data:
            i = data.find(bytes([CTRL_C]))
            if i < 0:
                self._to_child(data)
                return
            self._to_child(data[:i])
            data = data[i + 1 :]
            # the port has a SIGINT handler exactly while code runs with kbd_intr(3)
            if _sigint_caught(pid):
                os.kill(pid, signal.SIGINT)  # KeyboardInterrupt, byte consumed
            else:
                self._to_child(bytes([CTRL_C]))

    # -- the loop --------------------------------------------------------------
    def serve(self, stop):
        """Run until stop() is true (checked at least every 0.2 s)."""
        self._spawn()
        read, write = selectors.EVENT_READ, selectors.EVENT_WRITE
        while not stop():
            sel = selectors.DefaultSelector()
            sel.register(self.host, read | (write if self._out else 0))
            # a slow host slows the board's output down
            want = (read if len(self._out) < 1 << 16 else 0) | (write if self._in else 0)
            if want:
                sel.register(self.child_fd, want)
            events = sel.select(0.2)
            sel.close()
            for key, ev in events:
                if key.fd == self.host:
                    if ev & write:
                        with contextlib.suppress(BlockingIOError):
                            del self._out[: os.write(self.host, self._out)]
                    if ev & read:
                        with contextlib.suppress(BlockingIOError):
                            self._host_input(os.read(self.host, 4096))
                elif key.fd == self.child_fd:
                    if ev & write:
                        with contextlib.suppress(BlockingIOError):
                            del self._in[: os.write(self.child_fd, self._in)]
                    if ev & read:
                        try:
                            data = os.read(self.child_fd, 4096)
                        except BlockingIOError:
                            continue
                        except OSError as e:  # EIO: the interpreter has gone
                            if e.errno != errno.EIO:
                                raise
                            data = b""
                        if data:
                            self._child_output(data)
                        else:
                            self._child_exited()
                            break  # child_fd is a new one now

    def close(self):
        if self.child is not None and self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        for fd in (self.child_fd, self.host, self._host_slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)


class Running:
    """A virtual board started by running(): port, image, workdir, the supervisor's log."""

    def __init__(self, proc, port, workdir):
        self.proc = proc
        self.port = port
        self.dir = Path(workdir)
        self.image = self.dir / "flash.img"
        self.log = self.dir / "vboard.log"

    def boots(self):
        """How many times an interpreter has booted so far (from the log)."""
        return self.log.read_text().count("vboard: boot ")


@contextlib.contextmanager
def running(workdir, heap_kb=None, board="RPI_PICO", flash_kb=1024, timeout=60):
    """Start a virtual board in `workdir` (tools/vboard.py as a subprocess); stop it on exit."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    heap_kb = heap_kb or board_heap_kb(board)
    argv = [sys.executable, str(Path(__file__).resolve()), "--dir", str(workdir)]
    argv += ["--heap-kb", str(heap_kb), "--flash-kb", str(flash_kb)]
    with open(workdir / "vboard.log", "w") as log:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True)
    assert proc.stdout is not None  # stdout=PIPE
    try:
        line = proc.stdout.readline()  # "vboard: port /dev/pts/N", or "" if it died
        if not line.startswith("vboard: port "):
            proc.wait(timeout)
            raise RuntimeError(
                "vboard did not start: %r\n%s" % (line, (workdir / "vboard.log").read_text())
            )
        yield Running(proc, line.split()[2], workdir)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        proc.stdout.close()


# Lists the files of an image in a second interpreter: mounted read-only at /img.
_LIST = (
    "import binascii, hashlib, json, os, sys, vfs\n"
    + BDEV
    + r"""
vfs.mount(vfs.VfsLfs2(FileBlockDevice(open(sys.argv[1], "rb"), %d)), "/img", readonly=True)
out = {}


def walk(d):
    for e in os.ilistdir("/img" + d):
        p = d + "/" + e[0]
        if e[1] == 0x4000:
            out[p + "/"] = None
            walk(p)
        else:
            with open("/img" + p, "rb") as f:
                data = f.read()
            out[p] = [len(data), binascii.hexlify(hashlib.sha256(data).digest()).decode()]


walk("")
print(json.dumps(out))
"""
    % BLOCK
)


def image_files(image):
    """{path: [size, sha256 hex]} (a directory: its path + "/": None) of a flash image.

    Reads a copy of the image, so it can be called while the board runs."""
    image = Path(image)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "flash.img"
        shutil.copyfile(image, copy)
        lister = Path(tmp) / "list.py"
        lister.write_text(_LIST)
        r = subprocess.run(
            [MICROPYTHON, str(lister), str(copy)],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    if r.returncode != 0:
        raise RuntimeError("cannot read %s:\n%s%s" % (image, r.stdout, r.stderr))
    return json.loads(r.stdout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument(
        "--dir", help="where flash.img, the boot script and `port` live (default: a new temp dir)"
    )
    ap.add_argument("--board", default="RPI_PICO", help="take HEAP_KB from this board")
    ap.add_argument("--heap-kb", type=int, help="GC heap in KB (overrides --board)")
    ap.add_argument("--flash-kb", type=int, default=1024, help="size of a new flash image")
    args = ap.parse_args(argv)
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="vboard-"))
    workdir.mkdir(parents=True, exist_ok=True)
    heap_kb = args.heap_kb or board_heap_kb(args.board)

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    sup = Supervisor(workdir, heap_kb, args.flash_kb)
    try:
        (workdir / "port").write_text(sup.port + "\n")
        print("vboard: port %s" % sup.port, flush=True)
        sys.stderr.write("vboard: %s, heap %d KB, image %s\n" % (sup.port, heap_kb, sup.image))
        sup.serve(lambda: bool(stopping))
    finally:
        sup.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
