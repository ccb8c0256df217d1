"""Exceptions of the gateway layer.

    GatewayError
    ├── SettingsError        settings.toml is missing, malformed or inconsistent
    ├── IngestError          a message could not be made durable (caller answers 451 / 75)
    ├── ParseError           bytes that cannot be read as a message at all
    └── DeliveryError        outbound transport failure (temporary or permanent)

`KNOWN_ERRORS` lists the roots of every package; the CLI maps them to exit code 1 with a
one-line message, and anything else is a bug that is logged with its traceback.
"""

from __future__ import annotations


class GatewayError(Exception):
    pass


class SettingsError(GatewayError):
    pass


class IngestError(GatewayError):
    pass


class ParseError(GatewayError):
    pass


class DeliveryError(GatewayError):
    def __init__(self, message: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
