"""The README's shipping label: a parcel packed by `make screenshots`, drawn from its ZPL and from its PDF.

make.py hands over what the server answers for the parcel it packed: the ZPL (the bench's
folder printer received exactly these bytes), the PDF of the same label and the tracking
number. The ZPL is drawn by an independent renderer, zpl-renderer-js (zebrash compiled to
WebAssembly, run by node through render_label.mjs); the PDF's page by PDFium (pypdfium2).
zxing-cpp then reads the Code 128 barcode in each picture and compares it with the tracking
number. None of these tools is a dependency of Floorhand: they are installed, pinned, on
first use into a cache folder outside the repository (`npm install --prefix`,
`pip install --target`).

make.py keeps the label in that cache folder; `.venv/bin/python docs/screenshots/label.py`
draws the kept label again without running the app.
"""

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from order_api.labels import code128_segments

HERE = Path(__file__).resolve().parent
CACHE = platformdirs.user_cache_path("floorhand-screens")
KEPT = CACHE / "label"
NPM_PACKAGE = ("zpl-renderer-js", "3.4.0")
PYTHON_TOOLS = (("zxing-cpp", "3.1.1"), ("pypdfium2", "5.15.2"))
WIDTH_MM, HEIGHT_MM, DOTS_PER_MM = 101.6, 152.4, 8  # the 4 x 6 in, 203 dpi label of order_api/labels.py
PICTURES = {"zpl": "label-zpl.png", "pdf": "label-pdf.png"}


@dataclass(frozen=True)
class Label:
    """One parcel's label as the server gave it: both forms, and the number its barcode must read."""

    tracking_number: str
    zpl: str
    pdf: bytes

    def keep(self, folder: Path = KEPT) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "tracking.txt").write_text(self.tracking_number + "\n", encoding="ascii")
        (folder / "label.zpl").write_text(self.zpl, encoding="utf-8")
        (folder / "label.pdf").write_bytes(self.pdf)

    @classmethod
    def kept(cls, folder: Path = KEPT) -> "Label":
        return cls((folder / "tracking.txt").read_text(encoding="ascii").strip(),
                   (folder / "label.zpl").read_text(encoding="utf-8"), (folder / "label.pdf").read_bytes())


@dataclass(frozen=True)
class BarcodeCheck:
    """What zxing-cpp read from the Code 128 barcode(s) of one picture."""

    picture: Path
    expected: str
    read: tuple[str, ...]

    @property
    def right(self) -> bool:
        return self.read == (self.expected,)

    @property
    def renderer_bug(self) -> bool:
        """It reads exactly what zpl-renderer-js's mishandling of the >5 subset switch makes of the number."""
        return self.read == (as_zebrash_draws(self.expected),)

    def words(self) -> str:
        said = ", ".join(repr(r) for r in self.read) or "no Code 128 barcode"
        if self.right:
            return f"{self.picture.name}: the barcode reads {said}, the tracking number"
        words = f"{self.picture.name}: the barcode reads {said}, not the tracking number {self.expected!r}"
        if self.renderer_bug:
            words += (" (zpl-renderer-js's Code 128 bug: after >5 it keeps the digits in code set B and each switch"
                      " comes out as FNC4, which shifts the next character by 128; the ZPL itself is right)")
        return words


def as_zebrash_draws(text: str) -> str:
    """What a scanner reads from zpl-renderer-js's drawing of order_api/labels.py's ^BC data for `text`.

    The data switches code sets (">5" to C, ">6" back to B: ZPL II Programming Guide, ^BC).
    zpl-renderer-js 3.4.0 (zebrash) stays in set B and draws symbol value 100 at each switch,
    which in set B is FNC4: the character after it is read with its high bit set.
    """
    return "".join(chunk if n == 0 else chr(ord(chunk[0]) + 128) + chunk[1:]
                   for n, (_, chunk) in enumerate(code128_segments(text)))


# --- the tools, installed into the cache folder ------------------------------------------


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{what} failed ({' '.join(command)}):\n{done.stdout}{done.stderr}")


def renderer_prefix() -> Path:
    """The npm prefix holding zpl-renderer-js, installed there if it is not (the npm registry)."""
    name, version = NPM_PACKAGE
    manifest = CACHE / "node_modules" / name / "package.json"
    if not manifest.exists() or json.loads(manifest.read_text(encoding="utf-8")).get("version") != version:
        CACHE.mkdir(parents=True, exist_ok=True)
        _run(["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", f"{name}@{version}"],
             f"installing {name}")
    return CACHE


def python_tools() -> None:
    """zxing-cpp and pypdfium2 importable, from the cache folder (PyPI, pip install --target)."""
    target = CACHE / "python"
    wanted = [f"{name.replace('-', '_')}-{version}.dist-info" for name, version in PYTHON_TOOLS]
    if not all((target / w).is_dir() for w in wanted):
        _run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade",
              "--target", str(target)] + [f"{name}=={version}" for name, version in PYTHON_TOOLS],
             "installing " + ", ".join(name for name, _ in PYTHON_TOOLS))
    if str(target) not in sys.path:
        sys.path.append(str(target))  # after the venv's own packages: these never shadow the project's


# --- drawing and reading -------------------------------------------------------------------


def draw_zpl(zpl: str, png: Path) -> None:
    prefix = renderer_prefix()
    with tempfile.TemporaryDirectory(prefix="floorhand-label-") as tmp:
        source = Path(tmp) / "label.zpl"
        source.write_text(zpl, encoding="utf-8")
        _run(["node", str(HERE / "render_label.mjs"), str(prefix), str(source), str(png),
              str(WIDTH_MM), str(HEIGHT_MM), str(DOTS_PER_MM)], "zpl-renderer-js")


def draw_pdf(pdf: bytes, png: Path) -> None:
    """The first page at the thermal printer's resolution, so both pictures have the same size."""
    import pypdfium2  # from the cache folder: importable once python_tools() has run

    document = pypdfium2.PdfDocument(pdf)
    try:
        document[0].render(scale=DOTS_PER_MM * 25.4 / 72).to_pil().save(png)
    finally:
        document.close()


def read_code128(png: Path, expected: str) -> BarcodeCheck:
    import zxingcpp  # from the cache folder: importable once python_tools() has run
    from PIL import Image

    with Image.open(png) as image:
        found = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.Code128)
    return BarcodeCheck(png, expected, tuple(b.text for b in found))


def draw(label: Label, out: Path = HERE) -> list[BarcodeCheck]:
    """Writes label-zpl.png and label-pdf.png into `out`; what each barcode reads."""
    python_tools()
    pictures = {form: out / name for form, name in PICTURES.items()}
    draw_zpl(label.zpl, pictures["zpl"])
    draw_pdf(label.pdf, pictures["pdf"])
    return [read_code128(pictures[form], label.tracking_number) for form in ("zpl", "pdf")]


def verdict(checks: list[BarcodeCheck]) -> str | None:
    """Why the pictures are wrong, or None. The ZPL drawing may show the renderer's known bug; the PDF's never."""
    wrong = [c for c in checks if not c.right and not (c.picture.name == PICTURES["zpl"] and c.renderer_bug)]
    return "; ".join(c.words() for c in wrong) or None


def main() -> int:
    checks = draw(Label.kept())
    for check in checks:
        print(check.words())
    failure = verdict(checks)
    if failure:
        print(f"label: {failure}", file=sys.stderr)
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
