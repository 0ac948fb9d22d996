"""The photo studio's share of a seed: a shot list of SKUs and samples checked in.

Sample barcodes read "SMP-000001".
"""

import random
from datetime import datetime, timedelta


def shot_list(rng: random.Random, products: list[dict], count: int) -> list[dict]:
    """count distinct products still to be photographed, in product order."""
    chosen = sorted(rng.sample([p["id"] for p in products], min(count, len(products))))
    return [{"id": n, "product_id": pid, "status": "open", "qc_comment": None, "qc_by": None}
            for n, pid in enumerate(chosen, start=1)]


def samples(shots: list[dict], count: int, photographer_id: int, now: datetime) -> list[dict]:
    """Samples of the first count shot-list products, checked into the studio this morning."""
    return [
        {"id": n, "product_id": shot["product_id"], "barcode": f"SMP-{n:06d}", "status": "in_studio",
         "checked_in_by": photographer_id, "checked_in_at": now - timedelta(hours=3, minutes=7 * n),
         "checked_out_at": None}
        for n, shot in enumerate(shots[:count], start=1)
    ]
