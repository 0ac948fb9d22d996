"""A command run in a pseudo-terminal, and the screen a person would see at the end.

The upload's live progress line is drawn with cursor movements, so what a person sees is
not the bytes written but the screen they leave: Screen replays the few control sequences
rich uses (cursor up and down, erase line, carriage return) over an endless scrollback.
"""

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
import threading

COLUMNS, ROWS = 120, 40
# The environment that decides how rich draws: a plain xterm of a known size, no overrides.
_DRAWING = ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "TERM")


class Terminal:
    """A process whose stdin, stdout and stderr are one pseudo-terminal, as in a terminal window."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        env = {k: v for k, v in env.items() if k not in _DRAWING} | {"TERM": "xterm-256color"}
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self._master, self._raw, self._lock = master, bytearray(), threading.Lock()
        try:
            self.process = subprocess.Popen(command, env=env, stdin=slave, stdout=slave, stderr=slave,
                                            start_new_session=True)
        finally:
            os.close(slave)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # EIO: every end of the slave is closed, the process has ended
                break
            if not chunk:
                break
            with self._lock:
                self._raw += chunk

    @property
    def output(self) -> str:
        """Everything written so far, control sequences included."""
        with self._lock:
            return self._raw.decode("utf-8", "replace")

    def finish(self, timeout: float = 120.0) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._reader.join(timeout=10)
            os.close(self._master)
        return code

    def screen(self) -> list[str]:
        return Screen(COLUMNS).play(self.output)


_SEQUENCE = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b.|.",
                       re.DOTALL)


class Screen:
    """The lines a terminal of `width` columns shows after some output, scrollback included."""

    def __init__(self, width: int) -> None:
        self.width, self.lines, self.row, self.col = width, [[]], 0, 0

    def play(self, text: str) -> list[str]:
        for m in _SEQUENCE.finditer(text):
            if m.group(2):
                self._control(m.group(2), m.group(1))
            elif not m.group(0).startswith("\x1b"):
                self._char(m.group(0))
        return ["".join(line).rstrip() for line in self.lines]

    def _char(self, c: str) -> None:
        if c == "\r":
            self.col = 0
        elif c == "\n":
            self._move_to(self.row + 1)
        elif c == "\b":
            self.col = max(0, self.col - 1)
        elif c >= " ":
            if self.col >= self.width:
                self._move_to(self.row + 1)
                self.col = 0
            line = self._line()
            line.extend(" " * (self.col + 1 - len(line)))
            line[self.col] = c
            self.col += 1

    def _control(self, final: str, params: str) -> None:
        numbers = [int(p) for p in params.lstrip("?").split(";") if p.isdigit()]
        n = numbers[0] if numbers else None
        if final == "A":
            self.row = max(0, self.row - (n or 1))
        elif final == "B":
            self._move_to(self.row + (n or 1))
        elif final == "C":
            self.col += n or 1
        elif final == "D":
            self.col = max(0, self.col - (n or 1))
        elif final == "G":
            self.col = (n or 1) - 1
        elif final == "K":
            line = self._line()
            if n in (None, 0):
                del line[self.col:]
            elif n == 1:
                line[:self.col] = " " * min(self.col, len(line))
            else:
                line.clear()
        elif final == "J" and n in (None, 0):
            del self._line()[self.col:]
            del self.lines[self.row + 1:]
        # Colours, styles, cursor show and hide (m, h, l) change nothing a test reads.

    def _line(self) -> list[str]:
        self._move_to(self.row)
        return self.lines[self.row]

    def _move_to(self, row: int) -> None:
        while len(self.lines) <= row:
            self.lines.append([])
        self.row = row
