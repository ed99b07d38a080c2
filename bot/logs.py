"""Logging for `hubkeeper serve`: plain text by default, or one JSON object a line for log pipelines.

`HUBKEEPER_LOG_FORMAT=json` puts every record (ours, Bolt's, slack_sdk's, APScheduler's, aiohttp's
access lines) through one root handler as `{"time", "level", "logger", "message", …}`, with the
context bound for the work at hand (`instance`, `request_id`, `slack_user`, `command`) and any
traceback inside the object as `exc_info`. Whatever the format, known secret values and anything
shaped like a token are replaced before a line is written.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

LogFormat = Literal["text", "json"]
SETTING = "HUBKEEPER_LOG_FORMAT"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"

CONTEXT_FIELDS = ("instance", "request_id", "slack_user", "command")
_context: dict[str, ContextVar[str | None]] = {
    name: ContextVar(f"hubkeeper_{name}", default=None) for name in CONTEXT_FIELDS
}

# Shapes of the secrets hubkeeper handles: Slack tokens, Docker Hub access tokens, JWTs.
_TOKEN_SHAPES = re.compile(
    r"xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|dckr_(?:oat|pat)_[A-Za-z0-9_-]+"
    r"|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
)
_secrets: set[str] = set()

_HTTP_FIELDS = ("http_method", "path", "status", "duration_ms", "remote")


def bind(**fields: str | None) -> None:
    """Set context for every record logged from here on in this task (and the tasks it starts)."""
    for name, value in fields.items():
        _context[name].set(value)


def current_context() -> dict[str, str]:
    return {name: value for name, var in _context.items() if (value := var.get()) is not None}


def add_secrets(values: Iterable[str]) -> None:
    """Values to blank out of every line, whatever their shape (the signing secret has none)."""
    _secrets.update(value for value in values if len(value) >= 6)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _TOKEN_SHAPES.sub(REDACTED, text)


def requested_format() -> LogFormat:
    """Read before the settings: a configuration error must already come out in the format asked for."""
    return "json" if os.environ.get(SETTING, "").strip().lower() == "json" else "text"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update(current_context())
        for name in _HTTP_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exc_info"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack_info"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(log_format: LogFormat, *, level: int = logging.WARNING) -> None:
    """One handler on the root logger, on stderr, for everything logged in the process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("hubkeeper").setLevel(min(level, logging.INFO))
    logging.getLogger("aiohttp.access").setLevel(min(level, logging.INFO))
    # Python's warnings would otherwise be printed straight to stderr, outside any format.
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def _log_uncaught(kind: type[BaseException], error: BaseException, traceback: Any) -> None:
    logging.getLogger("hubkeeper").critical("uncaught %s", kind.__name__, exc_info=(kind, error, traceback))


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access line as a log record with the request's fields (path only: no query string)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status,
            extra={
                "http_method": request.method,
                "path": request.path,
                "status": response.status,
                "duration_ms": round(time * 1000, 1),
                "remote": request.remote,
            },
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
