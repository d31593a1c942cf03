"""Logging: one line per event, JSON when LOG_FORMAT=json, and never a token or secret."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

# Slack tokens have well-known shapes; AWS secrets are redacted by value (see `configure`).
TOKEN_PATTERN = re.compile(r"\b(xox[abposr]|xapp)-[A-Za-z0-9-]+")
REDACTED = "[redacted]"


class Redactor(logging.Filter):
    """Removes secrets from every record before any handler formats it."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        known = {*self._secrets, *(s for s in secrets if s and len(s) >= 6)}
        self._secrets = sorted(known, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return TOKEN_PATTERN.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def redact(secret: str | None) -> None:
    """From now on, no log line shows `secret` either (one learnt after `configure`)."""
    for handler in logging.getLogger().handlers:
        for active in handler.filters:
            if isinstance(active, Redactor):
                active.add([secret])


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "thread": record.threadName,
        }
        if record.exc_text:
            event["error"] = record.exc_text
        return json.dumps(event, ensure_ascii=False)


def configure(log_format: str, secrets: Iterable[str | None], *, verbose: bool = False) -> None:
    """Replace the root handlers: text or JSON lines on stderr, secrets redacted."""
    handler = logging.StreamHandler()
    handler.addFilter(Redactor(secrets))
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for noisy in ("botocore", "urllib3", "slack_sdk", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
