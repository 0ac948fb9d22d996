"""Scales on real tty pairs for tests: a thread plays the scale on the master side of os.openpty()."""

import os
import select
import threading
import tty


class WiredScale:
    """The scale's end of a real pseudo-terminal pair, played by a thread; unplug() closes it."""

    tick_s = 0.05

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.name = os.ttyname(self._slave)
        self._lock = threading.Lock()
        self.received: list[bytes] = []
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name=f"wired-scale {self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending = b""
        while True:
            readable, _, _ = select.select([self._master, self._wake_r], [], [], self.tick_s)
            if self._wake_r in readable:
                return
            if self._master in readable:
                pending += os.read(self._master, 1024)
                commands, pending = self.split(pending)
                for command in commands:
                    with self._lock:
                        self.received.append(command)
                        answer = self.answer(command)
                    if answer is not None:
                        os.write(self._master, answer)
            with self._lock:
                line = self.tick()
            if line is not None:
                os.write(self._master, line)

    def split(self, pending: bytes) -> tuple[list[bytes], bytes]:
        """Complete commands in what arrived, and the rest; MT-SICS ends each with CR LF."""
        *commands, rest = pending.split(b"\r\n")
        return commands, rest

    def answer(self, command: bytes) -> bytes | None:
        """The reply to one command from the reader, terminator included; None for none."""
        return None

    def tick(self) -> bytes | None:
        """Bytes the scale sends unasked every tick_s; None for none."""
        return None

    def unplug(self) -> None:
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=5)
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            os.close(fd)


class MtSicsScale(WiredScale):
    """Answers SI, T and Z as an MT-SICS balance does: unstable for a few answers after a load is placed."""

    def __init__(self, grams: int = 0) -> None:
        self._gross, self._tare, self._moving, self.fixed_answer = grams, 0, 0, None
        super().__init__()

    def place(self, grams: int, moving_answers: int = 3) -> None:
        with self._lock:
            self._gross, self._moving = grams, moving_answers

    def answer(self, command: bytes) -> bytes | None:
        if command == b"SI":
            if self.fixed_answer is not None:
                return self.fixed_answer
            flag = b"D" if self._moving else b"S"
            self._moving = max(0, self._moving - 1)
            return b"S %s %10.3f kg\r\n" % (flag, (self._gross - self._tare) / 1000)
        if command == b"T":
            self._tare = self._gross
            return b"T S %10.2f g\r\n" % self._tare
        if command == b"Z":
            self._tare = self._gross
            return b"Z A\r\n"
        return b"ES\r\n"


class Toledo8217Scale(WiredScale):
    """Answers W as a Toledo 8217 POS scale: STX ? and a status byte while in motion, then STX weight CR."""

    def __init__(self, grams: int = 0) -> None:
        self._grams, self._moving, self.status = grams, 0, None
        super().__init__()

    def place(self, grams: int, moving_answers: int = 2) -> None:
        with self._lock:
            self._grams, self._moving = grams, moving_answers

    def split(self, pending: bytes) -> tuple[list[bytes], bytes]:
        return [bytes([c]) for c in pending if c != 0x0D], b""  # one letter a command (T comes with CR)

    def answer(self, command: bytes) -> bytes | None:
        if command != b"W":
            return None
        if self.status is not None:
            return b"\x02?" + self.status + b"\r"
        if self._moving:
            self._moving -= 1
            return b"\x02?A\r"  # 0x41: bit 6 always set, bit 0 motion
        return b"\x02%06.3f\r" % (self._grams / 1000)


class PlainStreamingScale(WiredScale):
    """Streams "1.234 kg" lines without a stable flag, as cheap bench scales do."""

    def __init__(self, grams: int) -> None:
        self.grams = grams
        super().__init__()

    def tick(self) -> bytes | None:
        return b"%8.3f kg\r\n" % (self.grams / 1000)


class OnChangeScale(PlainStreamingScale):
    """Sends a line only when the weight changes, as some scales are set up to."""

    def __init__(self, grams: int) -> None:
        self._sent: int | None = None
        super().__init__(grams)

    def tick(self) -> bytes | None:
        if self.grams == self._sent:
            return None
        self._sent = self.grams
        return super().tick()
