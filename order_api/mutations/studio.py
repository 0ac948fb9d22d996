"""Studio mutations: samples in and out, shot QC, and assigning uploaded assets to angles."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.actions import AssetRegister, SampleCheckIn, SampleCheckOut, ShotQc
from contract.rejections import Rejection as R
from order_api.feed import publish_asset, publish_sample, publish_shot
from order_api.models import Asset, Product, Sample, ShotListItem
from order_api.mutations.handler import Actor, Rejected, handles


@handles(SampleCheckIn)
def check_in_sample(s: Session, actor: Actor, a: SampleCheckIn) -> None:
    """A physical sample arrives in the studio."""
    product = s.execute(select(Product).where(Product.sku == a.sku)).scalar_one_or_none()
    if product is None:
        raise Rejected(R.UNKNOWN_SKU, f"No product has SKU {a.sku!r}.")
    sample = s.execute(select(Sample).where(Sample.barcode == a.barcode)).scalar_one_or_none()
    if sample is None:
        sample = Sample(product_id=product.id, barcode=a.barcode)
        s.add(sample)
    elif sample.product_id != product.id:
        raise Rejected(R.SAMPLE_MISMATCH, f"Sample {a.barcode} belongs to another SKU.")
    elif sample.status == "in_studio":
        raise Rejected(R.ALREADY_CHECKED_IN, f"Sample {a.barcode} is already in the studio.")
    sample.status, sample.checked_in_by, sample.checked_in_at = "in_studio", actor.user.id, actor.now
    s.flush()
    publish_sample(s, sample)


@handles(SampleCheckOut)
def check_out_sample(s: Session, actor: Actor, a: SampleCheckOut) -> None:
    """A sample leaves the studio."""
    sample = s.execute(select(Sample).where(Sample.barcode == a.barcode)).scalar_one_or_none()
    if sample is None:
        raise Rejected(R.UNKNOWN_SAMPLE, f"No sample has barcode {a.barcode!r}.")
    if sample.status != "in_studio":
        raise Rejected(R.NOT_CHECKED_IN, f"Sample {a.barcode} is not in the studio.")
    sample.status, sample.checked_out_at = "returned", actor.now
    publish_sample(s, sample)


@handles(ShotQc)
def review_shot(s: Session, actor: Actor, a: ShotQc) -> None:
    """Approve a SKU's shots, or reject them with a comment saying what to redo."""
    item = s.get(ShotListItem, a.shot)
    if item is None:
        raise Rejected(R.UNKNOWN_SHOT, f"Shot list item {a.shot} does not exist.")
    if a.decision == "reject" and not a.comment.strip():
        raise Rejected(R.COMMENT_REQUIRED, "A rejection needs a comment telling the photographer what to redo.")
    item.status = "approved" if a.decision == "approve" else "rejected"
    item.qc_comment, item.qc_by = a.comment.strip() or None, actor.user.id
    publish_shot(s, item)


@handles(AssetRegister)
def register_asset(s: Session, actor: Actor, a: AssetRegister) -> None:
    """Assign an uploaded image to one required angle of its SKU."""
    asset = s.get(Asset, a.asset)
    if asset is None:
        raise Rejected(R.UNKNOWN_ASSET, f"Asset {a.asset} does not exist.")
    product = s.get(Product, asset.product_id)
    angles = product.shot_angles.split()
    if a.angle not in angles:
        raise Rejected(R.UNKNOWN_ANGLE, f"{product.sku} needs the angles {', '.join(angles)}, not {a.angle!r}.")
    if a.width_px < product.min_width_px or a.height_px < product.min_height_px:
        raise Rejected(R.RESOLUTION_TOO_LOW, f"{a.width_px}x{a.height_px} is below the minimum "
                       f"{product.min_width_px}x{product.min_height_px} for {product.sku}.")
    asset.angle, asset.width_px, asset.height_px, asset.status = a.angle, a.width_px, a.height_px, "registered"
    publish_asset(s, asset)
    item = s.execute(select(ShotListItem).where(ShotListItem.product_id == product.id)).scalar_one_or_none()
    if item is not None and item.status in ("open", "rejected"):
        covered = set(s.execute(select(Asset.angle).where(Asset.product_id == product.id,
                                                          Asset.status == "registered")).scalars())
        if covered.issuperset(angles):
            item.status = "shot"
            publish_shot(s, item)
