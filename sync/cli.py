"""`floorhand sync`, `status`, `upload` and `studio watch`: the client core without a window."""

import argparse
import getpass
import logging
import os
import sys
import time

from sync.api import ApiError, Offline, ServerBusy
from sync.client import ClientCore, default_data_dir
from sync.signin import DeviceNotUsable, SignInRefused
from sync.engine import SyncStatus
from sync.outbox import Outbox
from sync.store.database import LocalStore, StoreDamaged
from sync.studio.watch import add_studio_parser, run_studio
from sync.upload.cli import add_upload_parser, run_upload


# What a headless command takes from the workstation's settings when its flag is not given.
DEFAULTED = ("server", "data_dir", "ca_bundle", "keyring")


def main(argv: list[str] | None = None, defaults: dict[str, str] | None = None) -> int:
    """Run a headless command; `defaults` (server, data_dir, ca_bundle, keyring) stand in for flags not given.

    `floorhand` passes the effective settings (machine config, user config, FLOORHAND_*),
    so a workstation set up by IT needs no --server.
    """
    defaults = {k: v for k, v in (defaults or {}).items() if k in DEFAULTED and v}
    parser = argparse.ArgumentParser(prog="floorhand", description="Floorhand client core (headless).")
    parser.add_argument("--data-dir", default=None, help="local data folder (default: FLOORHAND_DATA_DIR or the "
                                                         "platform's data folder)")
    parser.add_argument("--log-level", default="warning")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("sync", help="sign in and synchronise with the order API")
    run.add_argument("--server", required="server" not in defaults,
                     help="base URL of the order API (default: the server_url setting)")
    run.add_argument("--user", required=True, help="username; the PIN comes from FLOORHAND_PIN or a prompt "
                                                    "(offline, a PIN this device has seen signs in offline)")
    run.add_argument("--once", action="store_true", help="push and pull once, print the status and exit")
    run.add_argument("--ca-bundle", default=None, help="CA bundle for a corporate TLS certificate")
    run.add_argument("--keyring", default=None, help="keyring backend as module.Class, or 'none'")
    sub.add_parser("status", help="print the local queue: pending and rejected actions")
    device = sub.add_parser("device", help="this device's registration: `show`, or `recover --code CODE`")
    device.add_argument("action", choices=("show", "recover"))
    device.add_argument("--server", required="server" not in defaults, help="base URL of the order API")
    device.add_argument("--code", help="the recovery code a supervisor made for this device")
    device.add_argument("--ca-bundle", default=None, help="CA bundle for a corporate TLS certificate")
    device.add_argument("--keyring", default=None, help="keyring backend as module.Class, or 'none'")
    add_upload_parser(sub)
    add_studio_parser(sub)
    args = parser.parse_args(argv)
    for name, value in defaults.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    if not logging.getLogger().handlers:  # `floorhand` sets up its log file first; this is for python -m sync.cli
        logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    data_dir = args.data_dir or default_data_dir()
    try:
        if args.command == "status":
            return print_queue(data_dir)
        if args.command == "upload":
            return run_upload(args, data_dir)
        if args.command == "studio":
            return run_studio(args, data_dir)
        if args.command == "device":
            return run_device(args, data_dir)
        return run_sync(args, data_dir)
    except StoreDamaged as exc:
        print(f"floorhand: {exc}", file=sys.stderr)
        return 3


def sign_in(core: ClientCore, username: str, *, offline: bool = True) -> bool:
    """Sign `username` in with the PIN from FLOORHAND_PIN or a prompt: online, or offline when the server is
    out of reach and this device has seen that PIN before. Prints why on stderr and returns False when it fails.

    There is no sign-in without the PIN: a session kept on this device is taken up only by
    its person's PIN (the offline ticket is sealed under it). With offline=False (an upload,
    which cannot do anything without the server) Offline and ServerBusy go to the caller.
    """
    pin = os.environ.get("FLOORHAND_PIN") or getpass.getpass(f"PIN for {username}: ")
    try:
        try:
            person = core.signin.online(username=username, pin=pin)
        except (Offline, ServerBusy) as exc:
            if not offline:
                raise
            person = core.signin.offline(username=username, pin=pin)
            print(f"floorhand: signed in offline ({exc})", file=sys.stderr)
    except (Offline, ServerBusy) as exc:
        if not offline:
            raise
        print(f"floorhand: sign-in failed: {exc}", file=sys.stderr)
        return False
    except DeviceNotUsable as exc:
        print(f"floorhand: {exc} {exc.problem.fix}", file=sys.stderr)
        return False
    except SignInRefused as exc:
        print(f"floorhand: sign-in failed: the server is out of reach and {exc.reason}", file=sys.stderr)
        return False
    except ApiError as exc:
        print(f"floorhand: sign-in failed: {exc}", file=sys.stderr)
        return False
    if person.note:
        print(f"floorhand: note: {person.note}", file=sys.stderr)
    return True


def run_device(args, data_dir) -> int:
    """`floorhand device show` / `floorhand device recover --code CODE`."""
    core = ClientCore.open(data_dir, args.server, keyring=args.keyring, ca_bundle=args.ca_bundle)
    try:
        device = core.device
        problem = device.problem()
        if args.action == "show":
            print(f"device: {device.device_id}")
            print(f"secrets kept in: {'the OS keyring' if device.secrets_in_keyring else 'a protected file'}")
            if problem is None:
                state = "registered" if device.credential() else "not registered yet (first online sign-in does it)"
            else:
                state = f"{problem.message} {problem.fix}"
            print(f"state: {state}")
            return 0 if problem is None else 1
        if not args.code:
            print("floorhand: device recover needs --code (a supervisor makes it for this device)", file=sys.stderr)
            return 2
        try:
            secret = core.api.recover_device(device.device_id, args.code)
        except ApiError as exc:
            print(f"floorhand: recovery failed: {exc}", file=sys.stderr)
            return 1
        device.registered(secret)
        print(f"device {device.device_id} is back in service on this machine; its queue is kept "
              f"({core.outbox.counts()[0]} action(s) waiting)")
        return 0
    finally:
        core.close()


def run_sync(args, data_dir) -> int:
    core = ClientCore.open(data_dir, args.server, keyring=args.keyring, ca_bundle=args.ca_bundle)
    try:
        if not sign_in(core, args.user):
            return 2
        if args.once:
            status = core.engine.sync_once()
            print(format_status(status))
            return 0 if status.last_error is None else 1
        core.engine.subscribe(lambda status: print(format_status(status), flush=True))
        core.engine.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0
    finally:
        core.close()


def format_status(s: SyncStatus) -> str:
    parts = [f"state={s.state.value}", f"pending={s.pending}", f"rejected={s.rejected}", f"cursor={s.cursor}"]
    if s.oldest_pending_age_s is not None:
        parts.append(f"oldest_pending={s.oldest_pending_age_s:.0f}s")
    if s.last_push_at:
        parts.append(f"last_push={s.last_push_at:%H:%M:%S}")
    if s.last_pull_at:
        parts.append(f"last_pull={s.last_pull_at:%H:%M:%S}")
    if s.stuck:
        parts.append("STUCK: actions are waiting and pushes keep failing")
    if s.last_error:
        parts.append(f"last_error={s.last_error!r}")
    return " ".join(parts)


def print_queue(data_dir) -> int:
    store = LocalStore.open(data_dir)
    try:
        outbox = Outbox(store)
        pending = outbox.pending(limit=10_000)
        print(f"pending: {len(pending)}")
        for m in pending:
            print(f"  #{m.seq} {m.name} by {m.user} at {m.at} {m.args}")
        rejected = outbox.rejected()
        print(f"rejected: {len(rejected)}")
        for r in rejected:
            m = r.mutation
            print(f"  #{m.seq} {m.name} by {m.user} at {m.at}: {r.code}: {r.message}")
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
