"""Keep secrets that travel in URLs out of log lines (pure: no Django).

A member's notice link carries its secret in the path (``/notice/<token>/``): whoever holds the link
reads the notice and can appeal. Django logs the path of a refused request (a CSRF failure is
``Forbidden (reason): /notice/<token>/``, and the reason may quote a Referer carrying it too), and
the web server logs every request line. :class:`RedactSecrets` rewrites such records to
``/notice/[redacted]/`` before any handler sees them; ``assay serve`` redacts its access log the same way.
"""

from __future__ import annotations

import logging
import re

# The path segment after /notice/ up to the next /, ?, #, quote, bracket or space; also inside a full URL.
_SECRET_IN_PATH = re.compile(r"(/notice/)[^/?#\s\"'<>]+")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with every notice token replaced by ``[redacted]``."""
    return _SECRET_IN_PATH.sub(rf"\g<1>{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """A logging filter that redacts notice tokens from the formatted message; it drops nothing.

    Installed on the loggers that name request paths (``django.request``, ``django.security.csrf``),
    so every handler, the console's and any added later, gets the redacted line; and on the console
    handler for anything else that reaches it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: leave it for the handler to report
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True
