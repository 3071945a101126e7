"""The ``assay`` command: one entry point for every stage of the flow.

Each subcommand is a Django management command living in the app that owns its stage; this
module maps the public, hyphenated names to them, prints one overview for ``assay --help``,
applies pending migrations to the embedded database, records who runs the command in the audit
log (``ASSAY_ACTOR``, else the OS user), and turns an unreachable database into one clear line
instead of a traceback. Unknown names pass through to Django (``assay migrate``).
"""

from __future__ import annotations

import os
import sys
from typing import NamedTuple


class _Sub(NamedTuple):
    app: str
    command: str


# Public name -> (app, management command), in the order of the flow.
COMMANDS: dict[str, _Sub] = {
    "demo": _Sub("demo", "demo"),
    "import-register": _Sub("register", "import_register"),
    "sources": _Sub("evidence", "sources"),
    "collect": _Sub("evidence", "collect"),
    "worker": _Sub("evidence", "worker"),
    "recheck": _Sub("evidence", "recheck"),
    "fetch-context": _Sub("review", "fetch_context"),
    "import-posts": _Sub("evidence", "import_posts"),
    "rederive": _Sub("evidence", "rederive"),
    "quarantine": _Sub("evidence", "quarantine"),
    "run-rules": _Sub("criteria", "run_rules"),
    "stream-rules": _Sub("criteria", "stream_rules"),
    "link": _Sub("linkage", "link"),
    "linkage": _Sub("linkage", "linkage"),
    "triage": _Sub("review", "triage"),
    "assign": _Sub("review", "assign"),
    "serve": _Sub("review", "serve"),
    "second-looks": _Sub("review", "second_looks"),
    "notices": _Sub("review", "notices"),
    "evidence-pack": _Sub("review", "evidence_pack"),
    "createuser": _Sub("oversight", "createuser"),
    "users": _Sub("oversight", "users"),
    "audit": _Sub("oversight", "audit"),
    "oversight-report": _Sub("oversight", "oversight_report"),
    "retention": _Sub("oversight", "retention"),
    "purposes": _Sub("oversight", "purposes"),
    "subject-access": _Sub("register", "subject_access"),
    "erase": _Sub("register", "erase"),
}

_INTRO = """\
assay: accountable social-media conduct review for membership organisations.

Collects public posts, matches them against approved rule sets, links authors to the
membership register, and puts each case before reviewers; every step is audited.

usage: assay <command> [options]      (assay <command> --help for its options)

commands:"""

_OUTRO = """
Other Django management commands pass through, e.g. `assay migrate`, `assay showmigrations`.
Settings come from the environment (see .env.example); data lives in ASSAY_DATA_DIR (./var).
The audit log names who ran each command: ASSAY_ACTOR=USERNAME (an active staff user; the
operating-system user is kept beside it), else the operating-system user as os:NAME."""


def _print_overview() -> None:
    from django.core.management import load_command_class

    print(_INTRO)
    for name, sub in COMMANDS.items():
        help_text = load_command_class(sub.app, sub.command).help.split("\n")[0]
        print(f"  {name:<17}{help_text}")
    print(_OUTRO)


def _safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _prepare_database() -> None:
    """Check the database answers; bring the embedded one up to date, ask for others."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    executor = MigrationExecutor(connection)
    if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return
    if connection.vendor == "sqlite":
        call_command("migrate", interactive=False, verbosity=0)
    else:
        raise SystemExit(
            f"assay: the database at {_safe_url(settings.DATABASE_URL)} has unapplied migrations; "
            "run `assay migrate` first"
        )


def _actor() -> str:
    """Who runs this command, for the audit log (ASSAY_ACTOR, else the OS user); a bad name stops here."""
    from oversight.services import command_actor

    try:
        return command_actor()
    except ValueError as exc:
        raise SystemExit(f"assay: {exc}") from None


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")
    try:
        import django

        django.setup()
    except ValueError as exc:  # a malformed setting, named by the settings helpers
        raise SystemExit(f"assay: bad setting: {exc}") from None

    if not args or args[0] in {"-h", "--help", "help"}:
        _print_overview()
        return
    if args[0] == "--version":
        from importlib.metadata import version

        print(f"assay {version('assay')}")
        return

    from django.conf import settings
    from django.db.utils import OperationalError

    from oversight.services import acting_as

    name, rest = args[0], args[1:]
    sub = COMMANDS.get(name)
    try:
        if sub is None:
            from django.core.management import execute_from_command_line

            execute_from_command_line(["assay", name, *rest])
            return
        from django.core.management import load_command_class

        command = load_command_class(sub.app, sub.command)
        if {"-h", "--help"} & set(rest):
            command.run_from_argv(["assay", name, *rest])
            return
        _prepare_database()
        with acting_as(_actor()):
            command.run_from_argv(["assay", name, *rest])
    except OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SystemExit(
            f"assay: cannot use the database at {_safe_url(settings.DATABASE_URL)}: {first_line}"
        ) from None


if __name__ == "__main__":
    main()
