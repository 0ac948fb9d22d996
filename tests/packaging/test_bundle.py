"""The frozen app: `make bundle` and `make deb` build it, and it runs away from the source tree.

The bundle is built once per session by make, which rebuilds dist/floorhand only when the
code, the spec or the lock changed, and then copied to a temporary folder, so that a build
started by another checkout user cannot change it under these tests. Every run of the
bundle gets a clean environment (no PYTHONPATH, no virtualenv, a fresh HOME) and a working
directory outside the source tree, so nothing can be imported from the checkout.
"""

import array
import fcntl
import fnmatch
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from PyInstaller.archive.readers import CArchiveReader

from desktop_app.version import VERSION

ROOT = Path(__file__).resolve().parents[2]

# Building takes about a minute on two cores, once per session.
pytestmark = pytest.mark.timeout(900)

SIZE_TARGET = 150_000_000  # bytes on disk of the onedir bundle (issue 6: <= 150 MB)


def make(*args: str) -> None:
    """Run a make target in the checkout, one at a time across processes (they share dist/ and build/)."""
    (ROOT / "build").mkdir(exist_ok=True)
    with open(ROOT / "build" / ".packaging.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = subprocess.run(["make", *args], cwd=ROOT, capture_output=True, text=True, timeout=840)
    assert run.returncode == 0, f"make {' '.join(args)} failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Path:
    """A copy of dist/floorhand as `make bundle` leaves it."""
    make("bundle")
    copy = tmp_path_factory.mktemp("bundle") / "floorhand"
    shutil.copytree(ROOT / "dist" / "floorhand", copy, symlinks=True)
    return copy


@pytest.fixture(scope="session")
def deb(bundle, tmp_path_factory) -> Path:
    """The .deb of the bundle; zstd instead of the release's xz only to build in seconds, same contents."""
    path = tmp_path_factory.mktemp("deb") / f"floorhand_{VERSION}.deb"
    make("deb", f"DEB={path}", "DEB_COMPRESSION=zstd")
    return path


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """What a fresh login session would have: no PYTHONPATH, no virtualenv, no FLOORHAND_* settings."""
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "FLOORHAND_MACHINE_CONFIG": str(home / "no-machine-config.toml"), **extra}


def run(executable: Path, *args: str, cwd: Path, env: dict[str, str], timeout: float = 120):
    return subprocess.run([str(executable), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def bundle_files(bundle: Path) -> list[str]:
    return sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file() or p.is_symlink())


def bundled_modules(bundle: Path) -> set[str]:
    """The Python modules frozen into the executable's archive."""
    archive = CArchiveReader(str(bundle / "floorhand")).open_embedded_archive("PYZ.pyz")
    return set(archive.toc)


def test_version_runs_from_the_bundle_outside_the_source_tree(bundle, tmp_path):
    result = run(bundle / "floorhand", "--version", cwd=tmp_path, env=clean_env(tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"floorhand {VERSION}\n"


def test_self_test_passes_from_the_bundle(bundle, tmp_path):
    env = clean_env(tmp_path / "home", QT_QPA_PLATFORM="offscreen")
    result = run(bundle / "floorhand", "--self-test", cwd=tmp_path, env=env, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "self-test passed"
    assert "[ ok ] check the server" in result.stdout


@pytest.fixture
def sound_server(tmp_path):
    """A PulseAudio server with one null sink, and the environment that reaches it."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "pulse-home"), "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    for folder in (env["HOME"], env["XDG_RUNTIME_DIR"]):
        Path(folder).mkdir(mode=0o700)
    server = subprocess.Popen(["pulseaudio", "--daemonize=no", "-n", "--exit-idle-time=-1", "--log-target=stderr",
                               "--load=module-null-sink sink_name=null", "--load=module-native-protocol-unix"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):  # up to 10 s for the server to answer
            if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
                break
            assert server.poll() is None, server.stderr.read().decode()
            time.sleep(0.05)
        else:
            pytest.fail("PulseAudio did not start")
        yield env
    finally:
        server.terminate()
        server.wait(timeout=10)


def wait_for_growth(path: Path, recorder: subprocess.Popen, size: int, timeout: float = 30) -> None:
    """Wait until `size` more bytes were recorded into `path`."""
    target = path.stat().st_size + size
    deadline = time.monotonic() + timeout
    while path.stat().st_size < target:
        assert recorder.poll() is None, f"parec exited with {recorder.returncode}"
        assert time.monotonic() < deadline, f"the recording stopped growing at {path.stat().st_size} bytes"
        time.sleep(0.02)


def test_bundle_plays_the_scan_sounds_without_a_media_backend(bundle, tmp_path, sound_server):
    """The spec leaves out Qt's FFmpeg backend: QSoundEffect must still reach PulseAudio."""
    capture = tmp_path / "null-sink.raw"
    # Small fragments: parec otherwise receives the recording in chunks of up to 2 s, and the
    # last chunk (with the sounds of the final scans) would still be on the way at the end.
    with open(capture, "wb") as out:
        recorder = subprocess.Popen(["parec", "-d", "null.monitor", "--raw", "--format=s16le", "--rate=44100",
                                     "--channels=1", "--latency-msec=20"], env=sound_server, stdout=out)
        try:
            wait_for_growth(capture, recorder, 4410)  # the recording runs (0.05 s of samples)
            env = clean_env(tmp_path / "home", QT_QPA_PLATFORM="offscreen",
                            XDG_RUNTIME_DIR=sound_server["XDG_RUNTIME_DIR"])
            result = run(bundle / "floorhand", "--self-test", cwd=tmp_path, env=env, timeout=240)
            wait_for_growth(capture, recorder, 44100)  # 0.5 s more: what played before the exit is written
        finally:
            recorder.terminate()
            recorder.wait(timeout=10)
    assert result.returncode == 0, result.stdout + result.stderr
    samples = array.array("h", capture.read_bytes()[: capture.stat().st_size // 2 * 2])
    loud = sum(1 for s in samples if abs(s) > 1000)
    assert loud > 1000, f"{loud} of {len(samples)} recorded samples are above the noise floor"


def test_config_show_from_the_bundle_applies_the_precedence_and_the_machine_lock(bundle, tmp_path):
    machine, user = tmp_path / "machine.toml", tmp_path / "user.toml"
    machine.write_text('server_url = "https://machine.example"\ndevice_name = "machine-dev"\nlocked = ["server_url"]\n'
                       "[scanner]\nmax_gap_ms = 40\nmin_length = 6\nlate_key_ms = 120\n")
    user.write_text('server_url = "https://user.example"\ndevice_name = "user-dev"\n'
                    "[scanner]\nmax_gap_ms = 41\nmin_length = 7\n")
    env = clean_env(tmp_path / "home", FLOORHAND_MACHINE_CONFIG=str(machine), FLOORHAND_USER_CONFIG=str(user),
                    FLOORHAND_SERVER_URL="https://env.example", FLOORHAND_SCANNER_MAX_GAP_MS="42")
    result = run(bundle / "floorhand", "config", "show", "--server", "https://cli.example",
                 "--set", "scanner.max_gap_ms=43", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    shown = {line.split(" = ", 1)[0]: " ".join(line.split(" = ", 1)[1].split())
             for line in result.stdout.splitlines() if " = " in line and not line.startswith("#")}
    assert shown["server_url"] == (f'"https://machine.example" # machine config ({machine}), locked; ignored: '
                                   f"user config ({user}), environment (FLOORHAND_SERVER_URL), command line")
    assert shown["device_name"] == f'"user-dev" # user config ({user})'
    assert shown["scanner.max_gap_ms"] == "43 # command line"
    assert shown["scanner.min_length"] == f"7 # user config ({user})"
    assert shown["scanner.late_key_ms"] == f"120 # machine config ({machine})"
    assert "# no problems" in result.stdout


def test_every_shared_library_of_the_bundle_finds_its_dependencies(bundle):
    """Filtered Qt modules and system libraries left to the .deb's Depends must not leave a hole."""
    missing = []
    for path in [bundle / "floorhand", *bundle.rglob("*.so*")]:
        if path.is_symlink() or not path.is_file():
            continue
        ldd = subprocess.run(["ldd", str(path)], capture_output=True, text=True)
        missing += [f"{path.relative_to(bundle)}: {line.strip()}" for line in ldd.stdout.splitlines()
                    if "not found" in line]
    assert not missing, "\n".join(missing)
    assert not [p for p in bundle.rglob("*") if p.is_symlink() and not p.exists()], "dangling symlinks"


def test_unused_qt_modules_and_the_servers_production_dependencies_are_left_out(bundle):
    files = bundle_files(bundle)
    absent = ["*Qt6WebEngine*", "*Qt6Qml*", "*Qt6Quick*", "*Qt63D*", "*Qt6Pdf*", "*Qt6Charts*", "*Qt6Designer*",
              "*Qt6VirtualKeyboard*", "*Qt6Svg*", "*QtWebEngine*", "*/Qt/qml/*", "*/Qt/translations/*",
              "*libavcodec*", "*/psycopg*", "*/botocore/*", "*/boto3/*", "*/PIL/*", "*pillow.libs*",
              "*/Qt/plugins/platformthemes/libqgtk3.so", "*libgtk-3*"]
    found = {pattern: [f for f in files if fnmatch.fnmatch("/" + f, pattern)] for pattern in absent}
    assert not {p: f for p, f in found.items() if f}
    modules = bundled_modules(bundle)
    unwanted = ("psycopg", "botocore", "boto3", "PIL", "pytest", "hypothesis", "PySide6.QtQml",
                "PySide6.QtWebEngineCore", "order_api.blobstore.s3")
    assert not sorted(m for m in modules if m.startswith(unwanted))
    assert "PySide6/Qt/plugins/platforms/libqxcb.so" in "\n".join(files)
    assert "PySide6/Qt/plugins/platforms/libqoffscreen.so" in "\n".join(files)


def test_dynamically_loaded_parts_are_in_the_bundle(bundle):
    """What the analysis cannot see: keyring backends, the SQLite dialect, route modules, migrations, GS1 data."""
    modules = bundled_modules(bundle)
    expected = {
        "keyring.backends.SecretService", "keyring.backends.kwallet", "keyring.backends.macOS",
        "keyring.backends.Windows", "keyring.backends.fail", "keyring.backends.null", "secretstorage",
        "sqlalchemy.dialects.sqlite.pysqlite", "alembic.op", "alembic.context",
        "order_api.routes.auth", "order_api.routes.sync", "order_api.routes.uploads", "order_api.blobstore.fs",
        "uvicorn.protocols.http.h11_impl", "uvicorn.lifespan.on",
    }
    assert expected - modules == set()
    internal = bundle / "_internal"
    for kind in ("journal", "replica"):
        migrations = internal / "sync" / "store" / "migrations" / kind
        assert (migrations / "env.py").is_file()
        assert sorted(p.name for p in (migrations / "versions").glob("*.py")) == sorted(
            p.name for p in (ROOT / "sync" / "store" / "migrations" / kind / "versions").glob("*.py"))
    assert list((internal / "biip").rglob("*.json*"))
    assert list(internal.glob("PySide6/QtSerialPort.abi3.so")) and list(internal.glob("PySide6/QtMultimedia.abi3.so"))


def test_bundle_stays_within_the_size_target(bundle):
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    assert size <= SIZE_TARGET, f"the bundle takes {size / 1e6:.1f} MB; see benchmarks/bundle.py for what grew"


def test_deb_declares_the_qt_system_libraries(deb):
    fields = subprocess.run(["dpkg-deb", "--field", str(deb), "Package", "Version", "Depends"],
                            capture_output=True, text=True, check=True).stdout
    control = dict(line.split(": ", 1) for line in fields.splitlines())
    assert control["Package"] == "floorhand"
    assert control["Version"] == VERSION
    depends = {d.strip() for d in control["Depends"].split(",")}
    assert {"libxcb-cursor0", "libxkbcommon-x11-0", "libegl1", "libpulse0", "libxcb-icccm4", "libxcb-keysyms1",
            "libfontconfig1", "libdbus-1-3", "libglib2.0-0"} <= depends
    # The glibc the bundled binaries were linked against, so apt refuses an older system.
    libc = [d for d in depends if d.startswith("libc6 ")]
    assert len(libc) == 1 and re.fullmatch(r"libc6 \(>= 2\.\d+\)", libc[0]), depends


def dpkg(root: Path, *args: str) -> subprocess.CompletedProcess:
    """dpkg on an installation below `root`; maintainer scripts run on this system with DPKG_ROOT set."""
    return subprocess.run(["dpkg", f"--root={root}", f"--log={root / 'dpkg.log'}", "--force-script-chrootless",
                           "--force-not-root", *args], capture_output=True, text=True, timeout=300)


def empty_dpkg_root(root: Path) -> Path:
    for folder in ("info", "updates", "triggers"):
        (root / "var" / "lib" / "dpkg" / folder).mkdir(parents=True)
    for name in ("status", "available"):
        (root / "var" / "lib" / "dpkg" / name).touch()
    return root


def test_deb_installs_runs_and_purges(deb, tmp_path):
    root = empty_dpkg_root(tmp_path / "root")
    # The libraries it depends on are on this machine, not in the empty package database below root.
    installed = dpkg(root, "--force-depends", "--install", str(deb))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    status = dpkg(root, "--status", "floorhand")
    assert "Status: install ok installed" in status.stdout
    env = clean_env(tmp_path / "home")
    for program in (root / "usr" / "bin" / "floorhand", root / "opt" / "floorhand" / "floorhand"):
        result = run(program, "--version", cwd=tmp_path, env=env)
        assert (result.returncode, result.stdout) == (0, f"floorhand {VERSION}\n"), result.stderr
    desktop = (root / "usr" / "share" / "applications" / "floorhand.desktop").read_text()
    assert "Exec=floorhand\n" in desktop
    assert (root / "usr" / "share" / "doc" / "floorhand" / "examples" / "config.toml").is_file()

    purged = dpkg(root, "--purge", "floorhand")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert not (root / "opt" / "floorhand").exists()
    assert not (root / "usr" / "bin" / "floorhand").is_symlink()


def test_deb_postinst_reports_machine_config_problems_without_failing(deb, tmp_path):
    root = empty_dpkg_root(tmp_path / "root")
    (root / "etc" / "floorhand").mkdir(parents=True)
    machine_config = root / "etc" / "floorhand" / "config.toml"
    machine_config.write_text('server_url = "https://orders.example.com"\nsever_port = 8443\n')
    installed = dpkg(root, "--force-depends", "--install", str(deb))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert f"floorhand: {machine_config} has problems" in installed.stderr
    assert "unknown setting 'sever_port'" in installed.stderr
    # The package never owns or rewrites IT's file.
    assert machine_config.read_text() == 'server_url = "https://orders.example.com"\nsever_port = 8443\n'
    purged = dpkg(root, "--purge", "floorhand")
    assert purged.returncode == 0, purged.stderr
    assert machine_config.is_file()
