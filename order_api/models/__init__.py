"""SQLAlchemy models of the reference order API, grouped by area."""

from order_api.models.base import Base
from order_api.models.identity import AuthSession, Device, DeviceUser, OfflineTicket, SignInThrottle, User
from order_api.models.studio import Asset, Sample, ShotListItem, Upload, UploadPart
from order_api.models.sync import Change, MutationResult, SyncMeta
from order_api.models.warehouse import (
    BoxType,
    Location,
    Order,
    OrderLine,
    Parcel,
    PackingEvent,
    ParcelItem,
    ParcelUnit,
    PickBatch,
    PickEvent,
    PickTask,
    Product,
    Stock,
    StockCheck,
)

__all__ = [
    "Asset", "AuthSession", "Base", "BoxType", "Change", "Device", "DeviceUser", "Location",
    "MutationResult", "OfflineTicket", "Order", "OrderLine", "PackingEvent", "Parcel", "ParcelItem",
    "ParcelUnit", "PickBatch", "PickEvent",
    "PickTask", "Product", "Sample", "ShotListItem", "SignInThrottle", "Stock", "StockCheck", "SyncMeta",
    "Upload", "UploadPart", "User",
]
