"""A deterministic product catalogue: realistic names, EAN-13 GTINs, sizes and weights.

SKUs read "APP-000123": the category code and the product id. A product family (one
garment model, one bottle design) spreads over colours and sizes, the way a shop lists
"Nordvik Merino Crew Sweater, Navy, M" next to "..., Navy, L".

GTINs are EAN-13: a 7-digit GS1 company prefix per brand, a 5-digit item reference counted
per brand, and the GS1 mod-10 check digit. Company prefixes start with 400-439, the range
GS1 Germany hands out, so the numbers look like those on German shelves; they are made up.
"""

import random
from collections.abc import Iterator

from order_api.seed.vocabulary import BRANDS, CATEGORIES

ITEMS_PER_PREFIX = 100_000  # a 7-digit company prefix leaves 5 digits of item reference


def gs1_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit: weights 3,1,3,... from the rightmost digit (GS1 GenSpecs 7.9)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def is_valid_gtin(code: str) -> bool:
    """True for an 8, 12, 13 or 14 digit GTIN whose check digit is right."""
    return (code.isascii() and code.isdigit() and len(code) in (8, 12, 13, 14)
            and gs1_check_digit(code[:-1]) == code[-1])


class GtinIssuer:
    """Hands out unique EAN-13s: one company prefix per brand, item references in order."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._prefixes: dict[str, str] = {}
        self._next_item: dict[str, int] = {}

    def issue(self, brand: str) -> str:
        prefix = self._prefixes.get(brand) or self._new_prefix(brand)
        item = self._next_item[brand]
        if item >= ITEMS_PER_PREFIX:
            raise ValueError(f"brand {brand!r} has used all {ITEMS_PER_PREFIX} item references of its prefix")
        self._next_item[brand] = item + 1
        body = f"{prefix}{item:05d}"
        return body + gs1_check_digit(body)

    def _new_prefix(self, brand: str) -> str:
        taken = set(self._prefixes.values())
        while True:
            prefix = f"{self._rng.randint(400, 439)}{self._rng.randint(0, 9999):04d}"
            if prefix not in taken:
                break
        self._prefixes[brand] = prefix
        self._next_item[brand] = 0
        return prefix


def _families(rng: random.Random) -> Iterator[tuple[dict, str, str, list[tuple[str, int]]]]:
    """Endless product families: (category, brand, base name, [(variant suffix, size step)])."""
    weights = [c["share"] for c in CATEGORIES]
    while True:
        category = rng.choices(CATEGORIES, weights)[0]
        parts = {key: rng.choice(words) for key, words in category["parts"].items()}
        brand = rng.choice(BRANDS)
        base = category["template"].format(brand=brand, **parts)
        colours = rng.sample(category["colours"], rng.randint(1, 4)) if category["colours"] else [""]
        sizes = rng.choice(category["sizes"]) if category["sizes"] else ()
        variants = [(", ".join(filter(None, (colour, size))), step)
                    for colour in colours for step, size in enumerate(sizes or ("",))]
        yield category, brand, base, variants


def products(rng: random.Random, count: int, first_id: int = 1) -> list[dict]:
    """count product rows (column name -> value) with ids first_id, first_id+1, ..."""
    gtins = GtinIssuer(rng)
    rows: list[dict] = []
    names: set[str] = set()
    for category, brand, base, variants in _families(rng):
        dims = sorted((rng.randint(*span) for span in category["dims"]), reverse=True)
        weight = rng.randint(*category["weight"])
        for suffix, step in variants:
            if len(rows) == count:
                return rows
            name = f"{base}, {suffix}" if suffix else base
            if name in names:  # the same family drawn twice: a shop lists each variant once
                continue
            names.add(name)
            pid = first_id + len(rows)
            rows.append({
                "id": pid,
                "sku": f"{category['code']}-{pid:06d}",
                "gtin": gtins.issue(brand),
                "name": name,
                "length_mm": dims[0], "width_mm": dims[1], "height_mm": dims[2],
                # larger sizes of a garment weigh a little more
                "weight_g": weight + weight * step // 20,
                "shot_angles": category["angles"],
                "min_width_px": category["min_px"][0], "min_height_px": category["min_px"][1],
            })
    return rows
