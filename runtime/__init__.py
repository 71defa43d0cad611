"""The small shared runtime: settings, logging, metrics, Kafka clients, signing."""

from runtime.logging import configure_logging, mask_personal_data
from runtime.settings import Settings

__all__ = ["Settings", "configure_logging", "mask_personal_data"]
