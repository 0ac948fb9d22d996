"""The contract between devices and the central order API, typed once and imported by both sides.

Actions (names, roles, typed arguments, the rejections they may meet) live in
contract.actions, rejection codes in contract.rejections, feed entities in
contract.entities; contract.schema exports them into docs/openapi.json. This package
imports neither Qt, FastAPI nor SQLAlchemy (ARCHITECTURE.md §1).
"""
