"""Photo studio: shot list, physical samples, uploads and registered assets."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from order_api.models.base import Base, utcnow


class ShotListItem(Base):
    """A SKU the studio must photograph, with its QC state."""

    __tablename__ = "shot_list"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    qc_comment: Mapped[str | None] = mapped_column(String(500))
    qc_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Sample(Base):
    """A physical product sample that is checked into and out of the studio."""

    __tablename__ = "samples"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    barcode: Mapped[str] = mapped_column(String(48), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="in_studio")
    checked_in_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_in_at: Mapped[datetime | None]
    checked_out_at: Mapped[datetime | None]


class Upload(Base):
    """A multipart upload of one image file, from creation to completion."""

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))  # None until given at completion
    part_size: Mapped[int] = mapped_column(BigInteger)
    object_key: Mapped[str] = mapped_column(String(255), unique=True)
    store_upload_id: Mapped[str | None] = mapped_column(String(255))
    single: Mapped[bool] = mapped_column(default=False)  # one PUT of the whole object, no multipart upload
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UploadPart(Base):
    """A part stored by the file store, with its ETag (the S3 store keeps its own list)."""

    __tablename__ = "upload_parts"
    __table_args__ = (UniqueConstraint("upload_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id"))
    number: Mapped[int]
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(64))


class Asset(Base):
    """An image registered to a SKU (checked on the way in; read back later by the scrub), optionally for an angle."""

    __tablename__ = "assets"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    upload_id: Mapped[str | None] = mapped_column(ForeignKey("uploads.id"), unique=True)
    object_key: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    angle: Mapped[str | None] = mapped_column(String(32))
    width_px: Mapped[int | None]
    height_px: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="uploaded")
    filename: Mapped[str | None] = mapped_column(String(255))  # as the photographer's file was named
    uploaded_by: Mapped[str | None] = mapped_column(String(128))  # display name of who uploaded it
    # What the scrub found reading the object back: unchecked, verified or corrupt (order_api/scrub.py).
    integrity: Mapped[str] = mapped_column(String(16), default="unchecked", index=True)
    checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
