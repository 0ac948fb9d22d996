"""Argument schemas of the mutations; unknown fields are refused like anywhere else."""

from typing import Literal

from pydantic import Field

from order_api.schemas import Strict

Id = Field(ge=1, le=2**31 - 1)  # the range of an integer column on every database


class PickConfirm(Strict):
    task: int = Id
    location: str = Field(min_length=1, max_length=64)
    qty: int = Field(ge=1, le=10_000)
    barcode: str = Field(min_length=1, max_length=128)


class PickShort(Strict):
    task: int = Id
    reason: Literal["not_found", "damaged", "qty_wrong"]


class PickUndo(Strict):
    task: int = Id
    confirmation: str | None = Field(None, description="id of the pick.confirm to undo; default the last one")


class ToteAssign(Strict):
    batch: int = Id
    order: int = Id
    tote: str = Field(min_length=1, max_length=32)


class ParcelItemArg(Strict):
    line: int = Id
    qty: int = Field(ge=1, le=10_000)


class ParcelArg(Strict):
    box_type: str = Field(min_length=1, max_length=16)
    weight_g: int = Field(ge=1, le=100_000)
    items: list[ParcelItemArg] = Field(min_length=1, max_length=500)


class PackConfirm(Strict):
    order: int = Id
    parcels: list[ParcelArg] = Field(min_length=1, max_length=50)


class SampleCheckIn(Strict):
    barcode: str = Field(min_length=1, max_length=48)
    sku: str = Field(min_length=1, max_length=32)


class SampleCheckOut(Strict):
    barcode: str = Field(min_length=1, max_length=48)


class ShotQc(Strict):
    shot: int = Id
    decision: Literal["approve", "reject"]
    comment: str = Field("", max_length=500)


class AssetRegister(Strict):
    asset: int = Id
    angle: str = Field(min_length=1, max_length=32)
    width_px: int = Field(ge=1, le=200_000)
    height_px: int = Field(ge=1, le=200_000)
