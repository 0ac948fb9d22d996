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


@router.post(
    "/parcels/{parcel_id}/label",
    response_model=LabelOut,
    responses={200: {"content": {"application/pdf": {}, "text/plain": {}},
                     "description": "JSON by default; the PDF or the ZPL alone with format=pdf or format=zpl"}},
)
def print_label(
    parcel_id: int = Path(ge=1, le=MAX_ID),
    label_format: Literal["json", "pdf", "zpl"] = Query(
        "json", alias="format", description="json (both forms), pdf or zpl"),
    caller: Caller = Depends(require_roles(*LABEL_ROLES)),
    ctx: ApiContext = Depends(get_ctx),
):
    """The parcel's 4x6 in shipping label; the first call gives the parcel its tracking number.

    Later calls print the same number again, so a jammed printer can simply retry. The
    order's status is left alone: shipping is recorded when the carrier collects.
    """
    label = _label_of(ctx, caller, parcel_id)
    if label_format == "zpl":
        return Response(labels.zpl(label), media_type="text/plain; charset=utf-8")
    pdf = labels.pdf(label)
    if label_format == "pdf":
        filename = f"label-{label.tracking_number}.pdf"
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{filename}"'})
    return LabelOut(parcel_id=parcel_id, tracking_number=label.tracking_number, zpl=labels.zpl(label),
                    pdf_base64=base64.b64encode(pdf).decode("ascii"))


def _label_of(ctx: ApiContext, caller: Caller, parcel_id: int) -> labels.ShippingLabel:
    missing = f"Parcel {parcel_id} does not exist."
    with ctx.write() as s:
        parcel = s.get(Parcel, parcel_id, with_for_update=True)
        if parcel is None:
            raise ApiError(404, "not_found", missing)
        order = s.get(Order, parcel.order_id)
        # A packer labels only parcels of orders at the packing station (the feed's scope).
        require_in_scope(caller, order_audiences(order), missing)
        if parcel.tracking_number is None:
            parcel.tracking_number = labels.tracking_number(parcel.id)
            publish_parcel(s, parcel, order)
        siblings = s.execute(select(Parcel.id).where(Parcel.order_id == order.id).order_by(Parcel.id)).scalars().all()
        return labels.ShippingLabel(
            tracking_number=parcel.tracking_number, order_number=order.number,
            parcel_no=siblings.index(parcel.id) + 1, parcel_count=len(siblings),
            weight_g=parcel.weight_g, box_type=parcel.box_type.code,
            ship_to=labels.ship_to_lines(order.customer),
        )
