"""assay serve: the web interface, served by gunicorn (static files by WhiteNoise)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from oversight.redact import redact
from oversight.services import acting_as


class _Server(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type information
    """Gunicorn configured from our options only: never from sys.argv or a gunicorn.conf.py."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # settings.WSGI_APPLICATION (assay.wsgi.application), loaded as runserver does.
        from django.core.servers.basehttp import get_internal_wsgi_application

        return get_internal_wsgi_application()


class _RedactingLogger(glogging.Logger):  # type: ignore[misc]  # gunicorn ships no type information
    """Gunicorn's logger with notice tokens redacted from the access log (request line, path, Referer)."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}


def _url(bind: str) -> str:
    if bind.startswith("unix:"):
        return bind
    host, _, port = bind.rpartition(":")
    return f"http://{host or '127.0.0.1'}:{port}/"


class Command(BaseCommand):
    help = (
        "Serve the web interface with gunicorn on 127.0.0.1:8000 (--bind to change); static files included.\n\n"
        "For use behind a TLS-terminating proxy in production; set ASSAY_ALLOWED_HOSTS to the public name."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port or unix:PATH (default %(default)s)")
        parser.add_argument("--workers", type=int, default=2, help="worker processes (default %(default)s)")
        parser.add_argument("--threads", type=int, default=4, help="threads per worker (default %(default)s)")

    def handle(self, *args: Any, **options: Any) -> None:
        # WhiteNoise serves from the finders and warns about a missing STATIC_ROOT; make sure it exists.
        settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"assay: serving on {_url(options['bind'])}  (Ctrl-C to stop)")
        self.stdout.flush()
        with acting_as(None):  # requests act as whoever is signed in, not as the person who started the server
            _Server(self._options(options)).run()

    @staticmethod
    def _options(options: dict[str, Any]) -> dict[str, Any]:
        return {
            "bind": options["bind"],
            "workers": options["workers"],
            "threads": options["threads"],
            "worker_class": "gthread",
            "accesslog": "-",
            "logger_class": _RedactingLogger,  # member notice links carry their secret in the path
            "errorlog": "-",
            "graceful_timeout": 10,
            "control_socket_disable": True,  # no runtime control socket in the user's home directory
        }
