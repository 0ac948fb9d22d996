"""`floorhand-api`: serve the reference order API, or print its OpenAPI document."""

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time

from order_api.settings import ServerSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="floorhand-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API server")
    serve.add_argument("--db", default="sqlite:///floorhand-api.db", help="SQLAlchemy URL (sqlite:///FILE or postgresql+psycopg://...)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--seed", choices=("demo", "bench", "none"), default="none",
                       help="load a deterministic data set into an empty database")
    serve.add_argument("--blob-store", default="fs:./blobs",
                       help="fs:DIR, or s3:ENDPOINT/BUCKET with credentials in AWS_* variables")
    serve.add_argument("--public-url", default=None,
                       help="base URL clients use to reach this server (for fs part URLs); default http://HOST:PORT")
    serve.add_argument("--scrub-rate", type=float, default=ServerSettings.scrub_rate_mb_s, metavar="MB/S",
                       help="read stored images back in the background at most this fast and mark each verified "
                            "or corrupt (default %(default)s; 0 turns the scrub off)")
    serve.add_argument("--log-level", default="info")
    sub.add_parser("openapi", help="print the OpenAPI document")
    args = parser.parse_args(argv)
    if args.command == "openapi":
        print(json.dumps(openapi_document(), indent=2, sort_keys=True))
        return 0
    return serve_forever(args)


def openapi_document() -> dict:
    """The contract as code declares it; docs/openapi.json must equal this."""
    from order_api.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = ServerSettings(db_url="sqlite://", blob_store=f"fs:{tmp}")
        app = create_app(settings)
        try:
            return app.openapi()
        finally:
            app.state.ctx.db.dispose()


def serve_forever(args) -> int:
    from order_api.app import create_app
    from order_api.seed import load_seed
    from order_api.server import serve

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signing_key = os.environ.get("FLOORHAND_API_SIGNING_KEY")
    settings = ServerSettings(
        db_url=args.db, blob_store=args.blob_store,
        public_url=args.public_url or f"http://{args.host}:{args.port}", scrub_rate_mb_s=args.scrub_rate,
        **({"signing_key": signing_key.encode()} if signing_key else {}),
    )
    try:
        app = create_app(settings)
    except Exception as exc:  # a bad URL, an unreachable database, a bad blob store
        print(f"floorhand-api: cannot start: {exc}", file=sys.stderr)
        return 2
    if args.seed != "none":
        loaded = load_seed(app.state.ctx.db, args.seed)
        print(f"floorhand-api: seed {args.seed}: {loaded}", file=sys.stderr)
    threading.Thread(target=_purge_hourly, args=(app.state.ctx.db, settings), name="retention", daemon=True).start()
    if settings.scrub_rate_mb_s > 0:
        from order_api.scrub import Scrub

        Scrub(app.state.ctx, settings.scrub_rate_mb_s * 1_000_000, settings.scrub_recheck_s).start()
    serve(app, args.host, args.port, args.log_level.lower())
    return 0


def _purge_hourly(db, settings: ServerSettings) -> None:
    """Drop tombstones past retention once an hour; clients behind them get `reset`."""
    from order_api.retention import purge_tombstones

    log = logging.getLogger("order_api.retention")
    while True:
        gone = purge_tombstones(db, settings.tombstone_retention_s)
        if gone:
            log.info("purged %d tombstones older than %d s", gone, settings.tombstone_retention_s)
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
