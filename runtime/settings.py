"""Settings of every hxbus deployable: environment variables with the ``HX_`` prefix.

Built once in ``main()`` and passed down; there is no module-level settings object.
Nested values use ``__`` (``HX_DEADLINES__IMMEDIATE``). Secrets are ``SecretStr`` and are
never logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas import DEFAULT_AGREEMENT_PATH
from schemas.errors import ConfigError

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]


class Settings(BaseSettings):
    """What every command needs to reach the broker and the agreement."""

    model_config = SettingsConfigDict(env_prefix="HX_", env_nested_delimiter="__", extra="ignore")

    bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated")
    agreement: Path = Field(DEFAULT_AGREEMENT_PATH, description="the interop agreement TOML file")
    state_dir: Path = Field(Path(".hxbus"), description="broker data, dedupe stores, keys, pids")
    client_id: str = "hxbus"
    kafka_client: Literal["kafka-python", "librdkafka"] = Field(
        "kafka-python",
        description="the Kafka transport (runtime.kafka): kafka-python (pure Python, the "
        "default) or librdkafka (confluent-kafka: pip install 'hxbus[librdkafka]')",
    )
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_mechanism: str = "SCRAM-SHA-512"
    security_protocol: SecurityProtocol | None = Field(
        None,
        description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL; unset: derived from "
        "HX_SASL_USERNAME (SASL_) and HX_SSL_CAFILE (_SSL)",
    )
    ssl_cafile: Path | None = Field(
        None, description="PEM CA certificate(s) the broker's certificate must chain to"
    )
    metrics_port: int = Field(0, description="port of /metrics and /healthz; 0 = off")
    metrics_host: str = Field(
        "127.0.0.1", description="address /metrics listens on (0.0.0.0 for a remote Prometheus)"
    )
    log_level: str = "INFO"
    alert_register_topic: str = Field(
        "hx.alerts.register", description="compacted topic of every alert's current state"
    )
    alert_register_group: str = Field(
        "hx.alert-register", description="consumer group of the register that writes it"
    )
    lookup_timeout_s: float = Field(
        5.0,
        ge=0,
        description="how long hxbus publish waits for the lookup service (need-to-know "
        "duplicate check); 0 = do not ask: such alerts then go unchecked, with a warning",
    )

    @model_validator(mode="after")
    def _protocol_has_its_parts(self) -> Settings:
        """A SASL protocol without a user cannot log in: say so at start-up, by field."""
        if (self.security_protocol or "").startswith("SASL_") and not self.sasl_username:
            raise ConfigError(
                f"security_protocol: {self.security_protocol} needs HX_SASL_USERNAME "
                "(and HX_SASL_PASSWORD)"
            )
        return self

    @property
    def effective_security_protocol(self) -> SecurityProtocol:
        """HX_SECURITY_PROTOCOL if set; else SASL_ with a user, _SSL with a CA file."""
        if self.security_protocol:
            return self.security_protocol
        if self.sasl_username:
            return "SASL_SSL" if self.ssl_cafile else "SASL_PLAINTEXT"
        return "SSL" if self.ssl_cafile else "PLAINTEXT"

    def kafka_security(self) -> dict[str, object]:
        """kafka-python keyword arguments for the configured security, empty for plaintext.

        Over TLS the broker's certificate must chain to ``ssl_cafile`` (or, without one,
        to the system's CAs) and name the host dialled: hostname checking is never off.
        """
        protocol = self.effective_security_protocol
        if protocol == "PLAINTEXT":
            return {}
        options: dict[str, object] = {"security_protocol": protocol}
        if protocol.startswith("SASL_"):
            password = self.sasl_password.get_secret_value() if self.sasl_password else ""
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": password,
            }
        if protocol.endswith("SSL"):
            options["ssl_check_hostname"] = True
            if self.ssl_cafile:
                options["ssl_cafile"] = str(self.ssl_cafile)
        return options
