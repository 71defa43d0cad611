"""runtime.kafka.broker_probe frames its two requests as Kafka's protocol says: byte for
byte what kafka-python's own protocol classes frame (the boundary's own test: it may
import kafka), and it reads a listener's answer."""

from __future__ import annotations

import socket
import struct
import threading

from kafka.protocol.admin import DescribeAclsRequest
from kafka.protocol.parser import KafkaProtocol
from kafka.protocol.sasl import SaslHandshakeRequest

from runtime import Settings
from runtime.kafka.broker_probe import (
    acls_disabled,
    describe_acls_request,
    sasl_handshake_request,
    sasl_wanted,
)


def _framed(request: object) -> bytes:
    parser = KafkaProtocol(client_id="hxbus-test")
    parser.send_request(request)
    return bytes(parser.send_bytes())


def test_sasl_handshake_is_framed_as_kafka_python_frames_it() -> None:
    """SaslHandshake v1 for SCRAM-SHA-512: the same bytes as kafka-python's."""
    expected = _framed(SaslHandshakeRequest(version=1, mechanism="SCRAM-SHA-512"))
    assert expected == sasl_handshake_request("hxbus-test", "SCRAM-SHA-512")


def test_describe_acls_is_framed_as_kafka_python_frames_it() -> None:
    """DescribeAcls v1 matching every ACL: the same bytes as kafka-python's."""
    expected = _framed(
        DescribeAclsRequest(
            version=1,
            resource_type_filter=1,
            resource_name_filter=None,
            pattern_type_filter=1,
            principal_filter=None,
            host_filter=None,
            operation=1,
            permission_type=1,
        )
    )
    assert expected == describe_acls_request("hxbus-test")


def _listener(answer: bytes) -> tuple[socket.socket, Settings]:
    """A one-shot listener that reads a request and sends ``answer`` (correlation id 1
    first), as a broker would."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            body = struct.pack(">i", 1) + answer
            connection.sendall(struct.pack(">i", len(body)) + body)

    threading.Thread(target=serve, daemon=True).start()
    return server, Settings(bootstrap=f"127.0.0.1:{server.getsockname()[1]}")


def test_a_sasl_listener_answers_with_its_mechanisms() -> None:
    """A handshake answer (error 0, one mechanism) is that mechanism's list."""
    name = b"SCRAM-SHA-512"
    server, settings = _listener(struct.pack(">hih", 0, 1, len(name)) + name)
    with server:
        assert ["SCRAM-SHA-512"] == sasl_wanted(settings)


def test_security_disabled_means_no_authorizer() -> None:
    """DescribeAcls answered SECURITY_DISABLED (54): no authorizer."""
    server, settings = _listener(struct.pack(">ih", 0, 54) + struct.pack(">h", -1))
    with server:
        assert True is acls_disabled(settings)


def test_nothing_listening_is_no_answer() -> None:
    """A port where nothing listens: None (the client's own error stands)."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    assert (None, None) == (
        sasl_wanted(Settings(bootstrap=f"127.0.0.1:{port}")),
        acls_disabled(Settings(bootstrap=f"127.0.0.1:{port}")),
    )
