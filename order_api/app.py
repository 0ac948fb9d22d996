"""Builds the FastAPI application from settings: the server's composition root."""

import importlib
import logging

from fastapi import FastAPI

from order_api import __doc__ as _doc
from order_api.context import ApiContext
from order_api.db import Database
from order_api.errors import install_error_handlers
from order_api.limits import BodyLimit
from order_api.settings import ServerSettings

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"
BLOB_PREFIX = "/v1/blobs/"
ROUTE_MODULES = ("auth", "devices", "sync", "batches", "orders", "users", "parcels", "uploads")


def create_app(settings: ServerSettings, db: Database | None = None) -> FastAPI:
    """A ready app: schema created, blob store opened, routes mounted."""
    from order_api.blobstore import open_blob_store

    db = db or Database(settings.db_url)
    db.create_schema()
    ctx = ApiContext(settings=settings, db=db)
    ctx.blobs = open_blob_store(settings)
    app = FastAPI(title="Floorhand order API", version=API_VERSION, description=_doc)
    app.state.ctx = ctx
    install_error_handlers(app)
    for name in ROUTE_MODULES:
        module = importlib.import_module(f"order_api.routes.{name}")
        app.include_router(module.router)
    app.openapi = lambda: _with_contract(app)
    limit = settings.max_body_bytes
    app.add_middleware(BodyLimit, limit=limit, large_prefix=BLOB_PREFIX, large_limit=settings.upload_part_size * 2)
    return app


def _with_contract(app: FastAPI) -> dict:
    """FastAPI's document plus the contract's actions, entities and rejection codes (contract.schema)."""
    from fastapi.openapi.utils import get_openapi

    from contract import schema

    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = doc["components"]["schemas"]
        contract = schema.components()
        clash = schemas.keys() & contract.keys()
        if clash:
            raise RuntimeError(f"contract schemas clash with route schemas: {sorted(clash)}")
        schemas.update(contract)
        schemas["Mutation"]["oneOf"] = schema.args_by_name()
        schemas["ChangeOut"]["anyOf"] = schema.data_by_entity()
        schemas["MutationOutcome"]["properties"]["code"] = {
            "anyOf": [{"$ref": schema.REF.format(name="Rejection")}, {"type": "null"}]}
        app.openapi_schema = doc
    return app.openapi_schema
