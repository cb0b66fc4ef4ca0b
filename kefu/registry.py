"""Imports every domain's models so `Base.metadata` is complete (Alembic, schema tests).

Explicit on purpose: a model that is not listed here is not part of the schema.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from kefu.db.base import Base

MODEL_MODULES = (
    "kefu.audit.models",
    "kefu.auth.models",
    "kefu.contacts.models",
    "kefu.inboxes.models",
    "kefu.conversations.models",
    "kefu.jobs.models",
)


def load_models() -> MetaData:
    """Import every models module and return the complete metadata."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata
