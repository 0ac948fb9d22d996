"""Studio actions: samples in and out, shot review, images assigned to angles."""

from contract.actions import AssetRegister, SampleCheckIn, SampleCheckOut, ShotQc
from sync.catalogue.entry import QT_TRANSLATE_NOOP, WORDS, Earlier, Effect, Entry, Rows, Words


def _reviewed(a: ShotQc, shots: Rows, _: Earlier) -> None:
    shot = shots.get(a.shot)
    if shot is not None:
        shot["status"] = "approved" if a.decision == "approve" else "rejected"
        shot["qc_comment"] = a.comment.strip() or None


def _describe_sample(a: dict) -> list[Words]:
    texts = (("barcode", QT_TRANSLATE_NOOP(WORDS, "sample {barcode}")), ("sku", QT_TRANSLATE_NOOP(WORDS, "SKU {sku}")))
    return [Words(text) for key, text in texts if a.get(key)]


def _describe_qc(a: dict) -> list[Words]:
    parts = [Words(QT_TRANSLATE_NOOP(WORDS, "shot {shot}"))] if "shot" in a else []
    decision = {"approve": QT_TRANSLATE_NOOP(WORDS, "approved"), "reject": QT_TRANSLATE_NOOP(WORDS, "rejected")}
    if a.get("decision") in decision:
        parts.append(Words(decision[a["decision"]]))
    if a.get("comment"):
        parts.append(Words(QT_TRANSLATE_NOOP(WORDS, "“{comment}”")))
    return parts


def _describe_asset(a: dict) -> list[Words]:
    parts = []
    if "asset" in a:
        parts.append(Words(QT_TRANSLATE_NOOP(WORDS, "image {asset} as {angle}") if a.get("angle")
                           else QT_TRANSLATE_NOOP(WORDS, "image {asset}")))
    if "width_px" in a and "height_px" in a:
        parts.append(Words(QT_TRANSLATE_NOOP(WORDS, "{width_px}×{height_px} px")))
    return parts


ENTRIES = (
    Entry(SampleCheckIn, QT_TRANSLATE_NOOP(WORDS, "Sample checked in"), describe=_describe_sample),
    Entry(SampleCheckOut, QT_TRANSLATE_NOOP(WORDS, "Sample checked out"), describe=_describe_sample),
    Entry(ShotQc, QT_TRANSLATE_NOOP(WORDS, "Shot review"), {"shot": Effect("id", "shot", _reviewed)}, _describe_qc),
    Entry(AssetRegister, QT_TRANSLATE_NOOP(WORDS, "Image assigned"), describe=_describe_asset),
)
