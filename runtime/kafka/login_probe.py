"""One SASL/SCRAM login attempt on a plain blocking socket: did the broker refuse us?

Why it exists: on a refused login Kafka sends its error response and closes the socket
together (after ``connection.failed.authentication.delay.ms``). kafka-python 3.0.12 reads
both in one go and, seeing the close, drops the response unread
(``kafka/net/transport.py`` ``_read_from_sock`` aborts before handing the bytes on), then
retries until its bootstrap timeout and says only "Unable to bootstrap": an unknown user
or a wrong password looks like a broker that is down. A blocking read gets the response
before it sees the close, so ``runtime.kafka`` asks this probe when a SASL client could
not bootstrap, and reports the refusal the broker actually sent.

Over SASL_SSL the probe first makes the TLS handshake with the client's own trust
settings (``ssl_cafile``, hostname checked), so the same login is asked inside TLS.

The questions that need no Kafka client (``sasl_wanted``, ``tls_refusal``) are in
``runtime.kafka.broker_probe``; this probe needs kafka-python's SCRAM client.
"""

from __future__ import annotations

import socket
from typing import Any

from kafka.errors import KafkaProtocolError
from kafka.net.sasl.scram import ScramClient
from kafka.protocol.parser import KafkaProtocol
from kafka.protocol.sasl import SaslAuthenticateRequest, SaslHandshakeRequest

from runtime.kafka.broker_probe import tls_context
from runtime.settings import Settings


class _Closed(Exception):
    pass


def login_refusal(settings: Settings, timeout_s: float = 5.0) -> str | None:
    """The broker's refusal of ``settings``' SCRAM login, or None (accepted, or no answer).

    Only for SCRAM mechanisms over SASL_PLAINTEXT or SASL_SSL (after a TLS handshake the
    client trusts; if it does not, the answer is None and ``tls_refusal`` says why).
    """
    options = settings.kafka_security()
    protocol = options.get("security_protocol")
    if protocol not in ("SASL_PLAINTEXT", "SASL_SSL"):
        return None
    mechanism = str(options["sasl_mechanism"])
    if mechanism not in ScramClient.MECHANISMS:
        return None
    host, _, port = settings.bootstrap.split(",")[0].strip().rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s) as raw:
            if protocol == "SASL_PLAINTEXT":
                return _exchange(raw, settings.client_id, options, mechanism)
            with tls_context(settings).wrap_socket(raw, server_hostname=host) as sock:
                return _exchange(sock, settings.client_id, options, mechanism)
    except (OSError, ValueError, _Closed, KafkaProtocolError):  # ssl.SSLError is an OSError
        # KafkaProtocolError: the port does not speak Kafka as asked (e.g. TLS bytes read
        # by a SASL_PLAINTEXT client): no refusal to report, the caller's error stands.
        return None


def _exchange(
    sock: socket.socket, client_id: str, options: dict[str, object], mechanism: str
) -> str | None:
    parser = KafkaProtocol(client_id=client_id)

    def call(request: Any) -> Any:
        parser.send_request(request)
        sock.sendall(parser.send_bytes())
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise _Closed
            responses = parser.receive_bytes(chunk)
            if responses:
                return responses[0][1]

    handshake = call(SaslHandshakeRequest(version=1, mechanism=mechanism))
    if handshake.error_code:
        return f"mechanism {mechanism} not enabled (broker offers {handshake.mechanisms})"
    scram = ScramClient(
        str(options["sasl_plain_username"]), str(options["sasl_plain_password"]), mechanism
    )
    first = call(SaslAuthenticateRequest(version=1, auth_bytes=scram.first_message()))
    if first.error_code:
        return str(first.error_message)
    scram.process_server_first_message(first.auth_bytes)
    final = call(SaslAuthenticateRequest(version=1, auth_bytes=scram.final_message()))
    if final.error_code:
        return str(final.error_message)
    return None
