"""A label printer on loopback for tests: answers ~HS with a status the test sets and keeps every label it gets."""

import contextlib
import socket
import struct
import threading

# ~HS answers as the ZPL II Programming Guide frames them (peripherals/zebra_status.py):
# string 1 b = paper out, c = pause; string 2 o = head up, p = ribbon out.
_STRING_1 = "030,{paper_out},{paused},1245,000,0,0,0,000,0,0,0"
_STRING_2 = "001,0,{head_open},{ribbon_out},1,2,6,0,00000000,1,000"
_STRING_3 = "1234,0"
STATUSES = {
    "ok": {},
    "paper_out": {"paper_out": 1, "paused": 1},  # a Zebra pauses itself when the media runs out
    "paused": {"paused": 1},
    "head_open": {"head_open": 1},
    "ribbon_out": {"ribbon_out": 1, "paused": 1},
}


def host_status_answer(status: str) -> bytes:
    flags = {"paper_out": 0, "paused": 0, "head_open": 0, "ribbon_out": 0} | STATUSES[status]
    strings = (_STRING_1.format(**flags), _STRING_2.format(**flags), _STRING_3)
    return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in strings)


class LoopbackLabelPrinter:
    """A raw-TCP printer on 127.0.0.1: switch it off and on (same port), set its status, read its labels.

    `status` is one of STATUSES, "silent" (never answers ~HS), "garbage" (answers noise) or
    "hang_up" (answers ok, then drops the connection with a reset, as a printer switched off
    in the middle of a label).
    Every connection is served on its own thread; what follows the ~HS queries on a
    connection, up to the client's end of it, is one label.
    """

    def __init__(self, status: str = "ok") -> None:
        self.status = status
        self.labels: list[bytes] = []
        self.queries = 0
        self._changed = threading.Condition()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self.port = 0
        self.switch_on()

    @property
    def setting(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def switch_on(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the same port again after switch_off
        listener.bind(("127.0.0.1", self.port))
        listener.listen(8)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept, args=(listener,), name="test-printer", daemon=True)
        self._accepting.start()

    def switch_off(self) -> None:
        """Close the port: a client's connection is refused until switch_on."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the other thread (Linux)
            listener.close()
            self._accepting.join(10)

    def wait_for_labels(self, count: int, timeout: float = 30.0) -> list[bytes]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.labels) >= count, timeout):
                raise AssertionError(f"the printer got {len(self.labels)} label(s), not {count}")
            return list(self.labels)

    def wait_for_queries(self, count: int, timeout: float = 30.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.queries >= count, timeout):
                raise AssertionError(f"the printer was asked for its status {self.queries} time(s), not {count}")

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # switched off
            threading.Thread(target=self._serve, args=(conn,), name="test-printer-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        received = b""
        with conn:
            conn.settimeout(30)
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    break
                received += chunk
                while received.startswith(b"~HS"):
                    received = received[3:]
                    try:
                        self._answer(conn)
                    except OSError:
                        return  # the client gave up waiting for the answer
                if received and self.status == "hang_up":
                    # The label has started to arrive. SO_LINGER with a zero timeout: close() resets
                    # the connection instead of ending it, and the rest of the label is lost.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
            if received:
                with self._changed:
                    self.labels.append(received)
                    self._changed.notify_all()

    def _answer(self, conn: socket.socket) -> None:
        with self._changed:
            self.queries += 1
            self._changed.notify_all()
        if self.status == "silent":
            return
        if self.status == "garbage":
            answer = b"\x02nonsense\x03\r\n" * 3
        else:
            answer = host_status_answer("ok" if self.status == "hang_up" else self.status)
        conn.sendall(answer)
