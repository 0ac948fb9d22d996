"""What the contract check of a feed row costs the client: a whole-entity decode against its keys alone.

Run: .venv/bin/python -m benchmarks.row_check [--rows 100000] [--rounds 5]

The replica reads each row's indexed columns while checking the row against its entity
(sync/store/replica.py `_key_reader`: a msgspec decode into the contract's struct). Before
the check, the same columns were read with a struct of the indexed columns alone. Both are
timed here over the same pick-task rows (the widest entity of the bench feed), in this
process, median of the rounds, nanoseconds a row.
"""

import argparse
import statistics
import time
from operator import attrgetter

import msgspec

from contract.entities import ENTITIES
from sync.store.replica import _key_reader
from sync.store.schema import REPLICA_KEYS


def rows(count: int) -> list[msgspec.Raw]:
    return [msgspec.Raw(msgspec.json.encode(dict(
        id=i, batch_id=i // 40, line_id=i, order_id=i // 3, order_number=f"SO-{i:06d}", order_status="released",
        tote=None, location_id=i % 5000, location_label=f"A-{i % 99:02d}-01-1", route_key=f"{i % 5000:08d}",
        product_id=i % 20000, sku=f"SKU-{i}", gtin="4006381333931", product_name="Rain jacket, navy, size M",
        qty=2, picked_qty=0, status="open", short_reason=None))) for i in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    data = rows(args.rows)
    names = [name for name, _ in REPLICA_KEYS["pick_task"]]
    checked = _key_reader("pick_task", names)
    keys_only = msgspec.json.Decoder(msgspec.defstruct("keys", [(n, int | str | None, None) for n in names])).decode
    get = attrgetter(*names)

    def with_check():
        return [checked(r) for r in data]

    def without():
        return [get(keys_only(r)) for r in data]

    assert with_check() == without()
    results = {}
    for name, run in (("checked against the entity (today)", with_check), ("indexed columns only", without)) * 3:
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        results.setdefault(name, []).append(statistics.median(times) / len(data) * 1e9)
    print(f"{args.rows:,} pick-task rows ({len(ENTITIES['pick_task'].__struct_fields__)} fields), ns a row:")
    for name, values in results.items():
        print(f"- {name}: {' / '.join(f'{v:.0f}' for v in values)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
