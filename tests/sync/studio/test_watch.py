"""`floorhand studio watch` as a real process: captures written slowly into a real folder, killed and restarted."""

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from PIL import Image

from tests.sync import upload_runs
from tests.sync.conftest import wait_until
from tests.sync.photos import photo_bytes

SKU_PATTERN = r"^(SKU-\d+)_"


class Watching:
    """One `python -m sync.cli ... studio watch` process and the lines it printed."""

    def __init__(self, server, data: Path, folder: Path, session: Path, *extra: str) -> None:
        command = [sys.executable, "-m", "sync.cli", "--data-dir", str(data), "studio", "watch", str(folder),
                   "--sku-from-filename", SKU_PATTERN, "--session-folder", str(session), "--settle", "0.3",
                   "--server", server.url, "--user", "chloe", "--keyring", "none", *extra]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, "FLOORHAND_PIN": "1111"})
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def said(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> tuple[int, str]:
        """Ctrl+C as a person would; the exit code and stderr."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(60)
        self._reader.join(5)
        return self.process.returncode, self.process.stderr.read()


def _write_slowly(path: Path, data: bytes, chunks: int = 4, pause: float = 0.05) -> None:
    """As tethering software does: the file grows in a few writes."""
    step = -(-len(data) // chunks)
    with open(path, "wb") as f:
        for offset in range(0, len(data), step):
            f.write(data[offset:offset + step])
            f.flush()
            time.sleep(pause)  # the camera's pace, not a wait for a result


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_a_burst_killed_and_restarted_takes_names_and_uploads_every_capture_exactly_once(studio_server, tmp_path):
    capture, session, data = tmp_path / "capture", tmp_path / "session", tmp_path / "client"
    capture.mkdir()
    shots = {f"SKU-1_{i:04d}.jpg": photo_bytes(".jpg", 150_000 + i) for i in range(12)}
    watching = Watching(studio_server, data, capture, session)
    writer = threading.Thread(target=lambda: [_write_slowly(capture / name, body) for name, body in shots.items()])
    writer.start()
    try:
        wait_until(lambda: watching.said(" → ") >= 4, "four captures taken")
        watching.kill()  # mid-burst: a move, a queue entry or an upload may be half done
        assert watching.process.returncode == -signal.SIGKILL
        writer.join(30)
        watching = Watching(studio_server, data, capture, session)
        wanted = {_sha(body) for body in shots.values()}
        wait_until(lambda: wanted <= set(upload_runs.assets(studio_server)), "every capture uploaded", timeout=60)
    finally:
        code, err = watching.stop()
    assert code == 0, err

    # Every capture exactly once, under its SKU's name in the session folder; none left behind.
    assert _files(capture) == []
    placed = _files(session)
    assert sorted(_sha(p.read_bytes()) for p in placed) == sorted(_sha(b) for b in shots.values())
    assert sorted(p.name for p in placed) == [f"SKU-1_{n:02d}.jpg" for n in range(1, 13)]
    assets = upload_runs.assets(studio_server)
    assert {sha: sku for sha, sku in assets.items() if sha in wanted} == {sha: "SKU-1" for sha in wanted}
    assert upload_runs.asset_rows(studio_server) == 12  # nothing uploaded twice


def test_a_capture_without_a_sku_goes_to_the_tray_and_one_short_of_the_style_guide_stays_with_the_reason(
        studio_server, tmp_path):
    capture, session, data = tmp_path / "capture", tmp_path / "session", tmp_path / "client"
    capture.mkdir()
    watching = Watching(studio_server, data, capture, session)
    try:
        good = photo_bytes(".jpg", 90_000)
        _write_slowly(capture / "SKU-2_front.jpg", good)
        stray = photo_bytes(".jpg", 80_000)
        _write_slowly(capture / "holiday.jpg", stray)
        Image.new("RGB", (40, 40), (10, 200, 10)).save(capture / "SKU-2_back.jpg", "JPEG")  # no colour profile
        (capture / "SKU-2_cut.jpg").write_bytes(photo_bytes(".jpg", 20_000)[:500])  # never completed
        wait_until(lambda: _sha(good) in upload_runs.assets(studio_server), "the good capture uploaded")
        wait_until(lambda: watching.said("holiday.jpg: no SKU") and watching.said("SKU-2_back.jpg: held")
                   and watching.said("SKU-2_cut.jpg: held"), "the others told")
    finally:
        code, err = watching.stop()
    assert code == 0, err
    assert [p.name for p in _files(session / "Unassigned")] == ["holiday.jpg"]
    assert (session / "SKU-2_01.jpg").read_bytes() == good
    assert sorted(p.name for p in _files(capture)) == ["SKU-2_back.jpg", "SKU-2_cut.jpg"]  # left for a person
    told = "\n".join(watching.lines)
    assert "colour profile" in told and "cut short" in told
    assert set(upload_runs.assets(studio_server)) == {_sha(good)}
