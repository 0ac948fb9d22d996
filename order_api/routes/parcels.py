"""Shipping labels of packed parcels, with a stand-in tracking number on first print."""

import base64
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select

from order_api import labels
from order_api.context import ApiContext, Caller
from order_api.deps import get_ctx, require_in_scope, require_roles
from order_api.errors import ApiError
from order_api.feed import order_audiences, publish_parcel
from order_api.models import Order, Parcel

router = APIRouter(prefix="/v1", tags=["parcels"])

LABEL_ROLES = ("packer", "supervisor", "admin")
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


class LabelOut(BaseModel):
    parcel_id: int
    tracking_number: str
    zpl: str
    pdf_base64: str


_LABEL_RESPONSES = {200: {"content": {"application/pdf": {}, "text/plain": {}},
                           "description": "JSON by default; the PDF or the ZPL alone with format=pdf or format=zpl"}}
LabelFormat = Literal["json", "pdf", "zpl"]


def _format_query():
    return Query("json", alias="format", description="json (both forms), pdf or zpl")


@router.post("/parcels/{parcel_id}/label", response_model=LabelOut, responses=_LABEL_RESPONSES)
def print_label(
    parcel_id: int = Path(ge=1, le=MAX_ID),
    label_format: LabelFormat = _format_query(),
    caller: Caller = Depends(require_roles(*LABEL_ROLES)),
    ctx: ApiContext = Depends(get_ctx),
):
    """The parcel's 4x6 in shipping label; the first call gives the parcel its tracking number.

    Later calls print the same number again, so a jammed printer can simply retry. The
    order's status is left alone: shipping is recorded when the carrier collects.
    """
    _, label = _label_of(ctx, caller, Parcel.id == parcel_id, f"Parcel {parcel_id} does not exist.")
    return _answer(label, parcel_id, label_format)


@router.post("/parcels/by-ref/{ref}/label", response_model=LabelOut, responses=_LABEL_RESPONSES)
def print_label_by_ref(
    ref: str = Path(min_length=1, max_length=36, pattern=r"^[0-9A-Za-z-]+$"),
    label_format: LabelFormat = _format_query(),
    caller: Caller = Depends(require_roles(*LABEL_ROLES)),
    ctx: ApiContext = Depends(get_ctx),
):
    """The label of a parcel by the packing device's own id for it (the `ref` of its pack.confirm).

    A device that packed offline knows no parcel id: it asks by its ref once the push is
    through. 404 `not_found` while no parcel has this ref: the pack is not applied (yet), or
    the parcels were opened again (pack.reopen).
    """
    parcel_id, label = _label_of(ctx, caller, Parcel.ref == ref, f"No parcel has the reference {ref}.")
    return _answer(label, parcel_id, label_format)


def _answer(label: labels.ShippingLabel, parcel_id: int, label_format: str):
    if label_format == "zpl":
        return Response(labels.zpl(label), media_type="text/plain; charset=utf-8")
    pdf = labels.pdf(label)
    if label_format == "pdf":
        filename = f"label-{label.tracking_number}.pdf"
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{filename}"'})
    return LabelOut(parcel_id=parcel_id, tracking_number=label.tracking_number, zpl=labels.zpl(label),
                    pdf_base64=base64.b64encode(pdf).decode("ascii"))


def _label_of(ctx: ApiContext, caller: Caller, which, missing: str) -> tuple[int, labels.ShippingLabel]:
    """The parcel's id and label; `which` selects the parcel (by id or by ref)."""
    with ctx.write() as s:
        parcel = s.execute(select(Parcel).where(which).with_for_update()).scalar_one_or_none()
        if parcel is None:
            raise ApiError(404, "not_found", missing)
        order = s.get(Order, parcel.order_id)
        # A packer labels only parcels of orders at the packing station (the feed's scope).
        require_in_scope(caller, order_audiences(order), missing)
        if parcel.tracking_number is None:
            parcel.tracking_number = labels.tracking_number(parcel.id)
            publish_parcel(s, parcel, order)
        siblings = s.execute(select(Parcel.id).where(Parcel.order_id == order.id).order_by(Parcel.id)).scalars().all()
        return parcel.id, labels.ShippingLabel(
            tracking_number=parcel.tracking_number, order_number=order.number,
            parcel_no=siblings.index(parcel.id) + 1, parcel_count=len(siblings),
            weight_g=parcel.weight_g, box_type=parcel.box_type.code,
            ship_to=labels.ship_to_lines(order.customer),
        )
