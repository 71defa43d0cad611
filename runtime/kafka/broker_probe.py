"""Questions asked of a broker on a plain socket, with no Kafka client: both transports use them.

Why not through the client: each answer is one a client does not report.

- ``sasl_wanted``: a client without a login, at a listener that wants one, sees only
  closed connections (kafka-python waits out its ~31 s bootstrap timeout, librdkafka
  retries for ever). A SASL listener answers a SaslHandshake with the mechanisms it
  enables; a PLAINTEXT one with an error and no mechanism.
- ``acls_disabled``: a broker without an authorizer answers DescribeAcls with
  ``SECURITY_DISABLED``; librdkafka (2.16.0) hands that back as an empty list, like a
  secured broker that holds no ACL yet.
- ``tls_refusal``: why the client does not trust the broker's certificate (no CA, another
  CA, a name that does not match); both clients report that like a broker that is down.

The two requests are framed by hand (request header v1, response header v0: both
versions are non-flexible, so no tagged fields): SaslHandshake v1 and DescribeAcls v1,
both served by Kafka 2.0 to 4.1 (checked on 4.1.2; Kafka 4 removed only DescribeAcls v0).
"""

from __future__ import annotations

import socket
import ssl
import struct

from runtime.settings import Settings

SASL_HANDSHAKE = 17
DESCRIBE_ACLS = 29
#: DescribeAcls' error when the broker has no authorizer.
SECURITY_DISABLED = 54
#: The ``ANY`` code of ResourceType, PatternType, AclOperation and AclPermissionType.
_ANY = 1
_CORRELATION_ID = 1


class ProbeFailed(Exception):
    """The broker did not answer as Kafka does (closed, truncated, another protocol)."""


def _string(value: str | None) -> bytes:
    if value is None:
        return struct.pack(">h", -1)
    data = value.encode()
    return struct.pack(">h", len(data)) + data


def _request(api_key: int, version: int, client_id: str, body: bytes) -> bytes:
    header = struct.pack(">hhi", api_key, version, _CORRELATION_ID) + _string(client_id)
    message = header + body
    return struct.pack(">i", len(message)) + message


def sasl_handshake_request(client_id: str, mechanism: str) -> bytes:
    """SaslHandshake v1 asking for ``mechanism``, framed."""
    return _request(SASL_HANDSHAKE, 1, client_id, _string(mechanism))


def describe_acls_request(client_id: str) -> bytes:
    """DescribeAcls v1 matching every ACL (each filter ANY or null), framed."""
    body = struct.pack(">b", _ANY) + _string(None) + struct.pack(">b", _ANY)
    body += _string(None) + _string(None) + struct.pack(">bb", _ANY, _ANY)
    return _request(DESCRIBE_ACLS, 1, client_id, body)


def _receive(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ProbeFailed("connection closed before the answer was complete")
        data += chunk
    return bytes(data)


def _call(sock: socket.socket, request: bytes) -> bytes:
    """Send ``request``; the response body (after the correlation id)."""
    sock.sendall(request)
    (size,) = struct.unpack(">i", _receive(sock, 4))
    if not 4 <= size <= 1 << 20:
        raise ProbeFailed(f"implausible response size {size}")
    response = _receive(sock, size)
    (correlation,) = struct.unpack_from(">i", response)
    if correlation != _CORRELATION_ID:
        raise ProbeFailed(f"answer to another request ({correlation})")
    return response[4:]


def _read_string(data: bytes, at: int) -> tuple[str | None, int]:
    (length,) = struct.unpack_from(">h", data, at)
    at += 2
    if length < 0:
        return None, at
    if at + length > len(data):
        raise ProbeFailed("truncated string")
    return data[at : at + length].decode(), at + length


def _host_port(settings: Settings) -> tuple[str, int]:
    host, _, port = settings.bootstrap.split(",")[0].strip().rpartition(":")
    return host, int(port)


def _ask(settings: Settings, request: bytes, timeout_s: float) -> bytes:
    """One request to the first bootstrap broker, inside TLS for the TLS protocols."""
    host, port = _host_port(settings)
    with socket.create_connection((host, port), timeout=timeout_s) as raw:
        if not settings.effective_security_protocol.endswith("SSL"):
            return _call(raw, request)
        with tls_context(settings).wrap_socket(raw, server_hostname=host) as sock:
            return _call(sock, request)


def sasl_wanted(settings: Settings, timeout_s: float = 3.0) -> list[str] | None:
    """The SASL mechanisms the broker's listener wants, for a client without a login
    (PLAINTEXT): ``[]`` when it answered that it serves plaintext; None when it did not
    answer (or the client logs in anyway): then the client's own error stands."""
    if settings.effective_security_protocol != "PLAINTEXT":
        return None
    request = sasl_handshake_request(settings.client_id, settings.sasl_mechanism)
    try:
        body = _ask(settings, request, timeout_s)
        # error_code int16, mechanisms ARRAY[STRING]. 0: the mechanism asked for is
        # enabled; UNSUPPORTED_SASL_MECHANISM (33) lists the others. A PLAINTEXT listener
        # answers ILLEGAL_SASL_STATE (34) with no mechanism.
        (_error, count) = struct.unpack_from(">hi", body)
        mechanisms: list[str] = []
        at = 6
        for _ in range(max(count, 0)):
            name, at = _read_string(body, at)
            if name is not None:
                mechanisms.append(name)
    except (OSError, ValueError, struct.error, ProbeFailed):
        return None
    return mechanisms


def acls_disabled(settings: Settings, timeout_s: float = 5.0) -> bool | None:
    """True when the broker has no authorizer (DescribeAcls answered ``SECURITY_DISABLED``),
    False when it has one; None when it did not answer. Only for a client that does not
    log in (PLAINTEXT or SSL): a SASL listener would want the login first."""
    if settings.effective_security_protocol.startswith("SASL_"):
        return None
    request = describe_acls_request(settings.client_id)
    try:
        # throttle_time_ms int32, error_code int16, then the message and the resources.
        error: int = struct.unpack_from(">ih", _ask(settings, request, timeout_s))[1]
    except (OSError, ValueError, struct.error, ProbeFailed):
        return None
    return error == SECURITY_DISABLED


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The trust both transports apply: ``ssl_cafile`` (else the system CAs), names checked."""
    cafile = str(settings.ssl_cafile) if settings.ssl_cafile else None
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = True
    return context


def tls_refusal(settings: Settings, timeout_s: float = 5.0) -> str | None:
    """Why this client refuses the broker's certificate, or None (trusted, or no answer).

    Only for the TLS protocols (SSL, SASL_SSL); a CA file that cannot be read is a refusal
    too, naming the file.
    """
    if not settings.effective_security_protocol.endswith("SSL"):
        return None
    try:
        context = tls_context(settings)
    except (OSError, ssl.SSLError) as exc:
        return f"HX_SSL_CAFILE {settings.ssl_cafile}: {exc}"
    host, _, port = settings.bootstrap.split(",")[0].strip().rpartition(":")
    try:
        with (
            socket.create_connection((host, int(port)), timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return None
    except ssl.SSLCertVerificationError as exc:
        return f"certificate of {host}:{port} not trusted: {exc.verify_message}"
    except (OSError, ValueError):
        return None
