"""The domain models: one pydantic model per event type, and the named types they share.

A model validates what a person or a local system hands to hxbus against the contract
and the agreement's rules, and emits the record form (``to_record()``). Validate through
``schemas.validate_record``, which passes the agreement and the issue time as context.
"""

from schemas.models.alerts import AlertStatusChange, PersonAlert, VehicleAlert
from schemas.models.assistance import AssistanceRequest, AssistanceResponse
from schemas.models.common import (
    ENUM_SYMBOLS,
    Contact,
    ExchangeModel,
    Location,
    PhotoRef,
    Plate,
    Subject,
)
from schemas.models.hits import AlertHit, HitConfirmation
from schemas.models.types import AgreementTables, tables_for

__all__ = [
    "ENUM_SYMBOLS",
    "AgreementTables",
    "AlertHit",
    "AlertStatusChange",
    "AssistanceRequest",
    "AssistanceResponse",
    "Contact",
    "ExchangeModel",
    "HitConfirmation",
    "Location",
    "PersonAlert",
    "PhotoRef",
    "Plate",
    "Subject",
    "VehicleAlert",
    "tables_for",
]
