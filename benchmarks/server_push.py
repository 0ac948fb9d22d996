"""Push cost of the reference API per pick.confirm: mutations/s and SQL statements per mutation.

Run: .venv/bin/python -m benchmarks.server_push [--scale 0.1] [--mutations 3000]

The server runs in this process on a temporary SQLite file with the bench seed at the
given scale, so the statements it sends can be counted; the client is plain httpx pushing
requests of 250 pick.confirm. Use it to compare two versions of the server side by side
(for example with PYTHONPATH pointing at a second checkout).
"""

import argparse
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime, timezone

from sqlalchemy import event

from benchmarks.machine import describe
from benchmarks.server_sync import sign_in
from order_api.models.base import utcnow
from order_api.seed import bench, load_rows
from order_api.server import start_in_thread
from order_api.settings import ServerSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--mutations", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_in_thread(ServerSettings(db_url=f"sqlite:///{tmp}/b.db", blob_store=f"fs:{tmp}/blobs"))
        try:
            db = server.app.state.ctx.db
            load_rows(db, "bench", lambda: bench.build(utcnow(), args.scale))
            statements: Counter[str] = Counter()

            @event.listens_for(db._writer, "before_cursor_execute")
            def _count(_conn, _cursor, statement, *_rest):
                statements[" ".join(statement.split()[:3])] += 1

            applied, spent = push(server.url, args.mutations)
        finally:
            server.stop()
    print(f"Machine: {describe()}")
    print(f"{applied:,} pick.confirm applied: {applied / spent:,.0f} mutations/s, "
          f"{sum(statements.values()) / applied:.1f} SQL statements per mutation")
    for statement, count in statements.most_common(10):
        print(f"  {count / applied:5.2f}  {statement}")


def push(url: str, wanted: int) -> tuple[int, float]:
    client = sign_in(url, "anna", "1111", "bench")
    seq, applied, spent = 0, 0, 0.0
    while applied < wanted:
        batches = client.post("/v1/pick-batches/claim", json={"ahead": 10}).json()["batches"]
        tasks = [t for b in batches for t in b["tasks"] if t["status"] == "open"]
        if not tasks:
            break
        mutations = []
        for t in tasks:
            seq += 1
            mutations.append({"seq": seq, "id": str(uuid.uuid4()), "name": "pick.confirm", "user": "anna",
                              "at": datetime.now(timezone.utc).isoformat(),
                              "args": {"task": t["id"], "location": t["location_label"],
                                       "qty": t["qty"] - t["picked_qty"], "barcode": t["gtin"]}})
        for i in range(0, len(mutations), 250):
            body = {"device_id": "bench", "schema_version": 1, "mutations": mutations[i:i + 250]}
            started = time.perf_counter()
            results = client.post("/v1/sync/push", json=body).json()["results"]
            spent += time.perf_counter() - started
            applied += sum(r["status"] == "applied" for r in results)
    client.close()
    return applied, spent


if __name__ == "__main__":
    main()
