"""Settings of every hxbus deployable: environment variables with the ``HX_`` prefix.

Built once in ``main()`` and passed down; there is no module-level settings object.
Nested values use ``__`` (``HX_DEADLINES__IMMEDIATE``). Secrets are ``SecretStr`` and are
never logged.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas import DEFAULT_AGREEMENT_PATH


class Settings(BaseSettings):
    """What every command needs to reach the broker and the agreement."""

    model_config = SettingsConfigDict(env_prefix="HX_", env_nested_delimiter="__", extra="ignore")

    bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated")
    agreement: Path = Field(DEFAULT_AGREEMENT_PATH, description="the interop agreement TOML file")
    state_dir: Path = Field(Path(".hxbus"), description="broker data, dedupe stores, keys, pids")
    client_id: str = "hxbus"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_mechanism: str = "SCRAM-SHA-512"
    security_protocol: str | None = Field(
        None, description="PLAINTEXT, SASL_PLAINTEXT or SASL_SSL; unset: derived from SASL"
    )
    ssl_cafile: Path | None = None
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

    def kafka_security(self) -> dict[str, object]:
        """kafka-python keyword arguments for the configured security, empty for plaintext."""
        if not self.sasl_username:
            return {}
        password = self.sasl_password.get_secret_value() if self.sasl_password else ""
        protocol = self.security_protocol or ("SASL_SSL" if self.ssl_cafile else "SASL_PLAINTEXT")
        options: dict[str, object] = {
            "security_protocol": protocol,
            "sasl_mechanism": self.sasl_mechanism,
            "sasl_plain_username": self.sasl_username,
            "sasl_plain_password": password,
        }
        if self.ssl_cafile:
            options["ssl_cafile"] = str(self.ssl_cafile)
        return options
