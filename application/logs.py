"""Logging: one JSON object per line, so every process's logs can be searched alike."""

from __future__ import annotations

import json
import logging


class JsonFormatter(logging.Formatter):
    """Log records as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ClosedSocketNoise(logging.Filter):
    """Demotes kafka-python 3.0.12's error about reading a socket that was closed on purpose.

    Its network thread may be waiting to read when a client is closed from another thread (a
    worker stopping); the read then finds the socket gone and logs an ERROR with a traceback
    about a transport it names "(closed)" itself. Nothing failed, so it is logged at DEBUG.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.name == "kafka.net.transport"
            and record.levelno >= logging.ERROR
            and "(closed)>" in record.getMessage()
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.exc_info = None
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def configure_logging(level: str = "INFO") -> None:
    """JSON logs on standard error for every logger."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ClosedSocketNoise())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("kafka").setLevel(max(logging.WARNING, root.level))  # chatty at INFO
