"""The one small interface of a local container format: a structure to bytes and back.

A container format knows the syntax of a province's local messages (JSON, XML,
fixed-width) and nothing of their meaning; a profile (``bridge.profiles``) builds the
structure from an exchange event and reads the event back out of it. Keeping the two
apart lets a new partner reuse a container with its own field names, and lets the
container's refusals of malformed input be tested once, for every profile that uses it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

Structure = TypeVar("Structure")


class LocalFormat(ABC, Generic[Structure]):
    """Encodes a structure to the bytes of one local message, and decodes them back.

    ``encode`` raises ``TranslationError`` naming the value the container cannot hold;
    ``decode`` raises ``LocalFormatError`` naming where (line, column, key) and the rule
    broken, in words an integration engineer can act on.
    """

    #: The media type of one message, as an HTTP sink sends it (the ICD says which).
    media_type: str

    @abstractmethod
    def encode(self, structure: Structure) -> bytes:
        """The bytes of one message."""

    @abstractmethod
    def decode(self, content: bytes) -> Structure:
        """The structure one message's bytes hold."""
