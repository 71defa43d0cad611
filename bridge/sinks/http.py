"""The HTTP sink: one POST per message, idempotent by the ``Idempotency-Key`` header.

The body is the local message as the ICD defines it, ``Content-Type`` its media type, and
``Idempotency-Key`` the message id, so that a POST repeated after a crash or a timeout
(the local system may have taken it before the answer was lost) is recognised there.

How answers map (Anhui and Jiangsu ICDs):
- 2xx: delivered. 409 Conflict: "already have it", counts as delivered (``duplicate``).
- 5xx, timeouts, connection errors, and 408/429 (the server's "not now"): ``SinkUnavailable``;
  the consumer runtime pauses the partition and retries with backoff.
- any other status (other 4xx, an unexpected 3xx): ``SinkRejected``; the message goes to
  the DLQ with the status and the start of the answer in its reason.

A 2xx is the local system's acknowledgement that it took the message durably, so
``flush`` has nothing left to do. One ``httpx.Client`` per sink keeps connections alive
across messages (one sink per consumer thread).
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

import httpx

from bridge.profiles.base import LocalMessage
from bridge.sinks.base import DeliveryOutcome, DeliveryResult, Sink
from schemas import Envelope
from schemas.errors import SinkRejected, SinkUnavailable

#: Statuses below 500 that still mean "try again later", not "never".
_RETRY_STATUSES = frozenset({408, 429})
#: How much of an error answer goes into the DLQ reason.
_ANSWER_EXCERPT = 200


class HttpSink(Sink):
    """POSTs each message to one URL of the local system."""

    kind: ClassVar[str] = "http"

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        # Destination in audit records and logs: never the query string or credentials.
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
        self._destination = f"{parts.scheme}://{parts.hostname}{port}{parts.path}"
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._client = httpx.Client(
            timeout=timeout, headers=headers, transport=transport, follow_redirects=False
        )

    def deliver(
        self, message: LocalMessage, envelope: Envelope, *, key: bytes | None = None
    ) -> DeliveryResult:
        """POST the message; a 2xx or 409 answer means the local system has it."""
        request_headers = {
            "Content-Type": message.media_type,
            "Idempotency-Key": envelope.message_id,
        }
        try:
            response = self._client.post(self.url, content=message.content, headers=request_headers)
        except httpx.TimeoutException as exc:
            raise SinkUnavailable(f"POST {self._destination}: timed out ({exc})") from exc
        except httpx.TransportError as exc:
            raise SinkUnavailable(f"POST {self._destination}: {exc}") from exc
        status = response.status_code
        detail = f"HTTP {status}"
        if response.is_success:
            return self._result(DeliveryOutcome.DELIVERED, self._destination, detail)
        if status == httpx.codes.CONFLICT:
            return self._result(DeliveryOutcome.DUPLICATE, self._destination, detail)
        answer = response.text[:_ANSWER_EXCERPT].strip()
        problem = f"POST {self._destination}: {detail} {response.reason_phrase}: {answer}"
        if response.is_server_error or status in _RETRY_STATUSES:
            raise SinkUnavailable(problem)
        raise SinkRejected(problem)

    def flush(self) -> None:
        """Nothing to do: every 2xx was the local system's acknowledgement."""

    def close(self) -> None:
        self._client.close()
