"""Structured logs: one JSON object per line, with secrets redacted.

Every record carries `ts`, `level`, `logger` and `msg`, plus whatever the call passed in
`extra=` (`signal_id`, `vault`, `tx_hash`, `duty`, ...). The formatter replaces any configured
secret (the private key, the keyfile passphrase, the admin token) with `***` in the final
line, whatever path it took to get there (a message, an argument, an exception).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

LOGGER = "keeper"
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName",
                                                                          "color_message"}  # uvicorn's ANSI copy


class _Redacting(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class JsonFormatter(_Redacting):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(out, default=str))


class TextFormatter(_Redacting):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_"))
        line = f"{datetime.fromtimestamp(record.created, UTC):%H:%M:%S.%f} {record.levelname:<7} {record.getMessage()}"
        if extras:
            line += f" [{extras}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return self.redact(line)


def setup_logging(*, level: str = "INFO", json_lines: bool = True, secrets: Iterable[str] = (),
                  stream: object = None) -> logging.Handler:
    """Route the keeper's logs (and uvicorn's) to one handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter(secrets) if json_lines else TextFormatter(secrets))
    for name in (LOGGER, "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    return handler
