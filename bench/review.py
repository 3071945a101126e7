"""Benchmark the review side at scale: the pages staff use every day, and the data-rights commands.

    .venv/bin/python bench/review.py --scale 10            # build the demo organisation ×10, then measure
    .venv/bin/python bench/review.py --data-dir /tmp/org   # measure an organisation built before (same scale)

It builds the demo organisation (`assay demo --no-serve --scale N`: N × 5,000 members and N × 50,000
posts, every stage run) in a fresh data directory, or reuses one, and then measures, through the real
interfaces (Django's test client with a signed-in, second-factor-verified session; the services the
CLI calls):

* the review queue (a lead's first page, and a reviewer's), a case page (the case with the most
  posts, its conversation and links), the sources page, the oversight dashboard, a member's page;
* a subject access export; appending ``--audit-events`` events to the audit chain, and verifying it;
* triage with nothing new (what the worker does every few minutes).

For each it prints the median of ``--repeat`` runs in milliseconds and the SQL queries one run makes
(the count must not grow with the organisation: a page whose count does is an N+1). Uses the data
directory's database (SQLite) unless ``ASSAY_DATABASE_URL`` is set. Nothing here is a timed test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # this file is named like the app it measures


def _build(data_dir: Path, scale: float) -> float:
    env = {**os.environ, "ASSAY_DATA_DIR": str(data_dir)}
    assay = str(ROOT / ".venv" / "bin" / "assay")
    started = time.perf_counter()
    subprocess.run([assay, "migrate", "-v", "0"], env=env, check=True)  # a new PostgreSQL database is empty
    subprocess.run(
        [assay, "demo", "--no-serve", "--scale", str(scale)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _measure(label: str, repeat: int, run: Callable[[], Any]) -> None:
    from django.conf import settings
    from django.db import connection, reset_queries

    settings.DEBUG = True  # Django records queries only in debug mode
    times, queries = [], 0
    for _ in range(repeat):
        reset_queries()
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
        queries = len(connection.queries)
    settings.DEBUG = False
    print(f"{label:<44} {statistics.median(times):>9.1f} ms  {queries:>4} queries")


def _client(username: str) -> Any:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = get_user_model().objects.get(username=username)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="bench authenticator", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _get(client: Any, url: str) -> Callable[[], Any]:
    def run() -> Any:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        return response

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=10, help="demo organisation size (1 = 5,000 members)")
    parser.add_argument("--data-dir", type=Path, help="reuse the organisation in this data directory")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--audit-events", type=int, default=20_000, help="events appended to the audit chain before verifying it"
    )
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="assay-bench-review-"))
    if args.data_dir is None or not (data_dir / "demo").exists():
        seconds = _build(data_dir, args.scale)
        print(f"built the demo organisation at scale {args.scale:g} in {seconds:.1f} s ({data_dir})")
    os.environ["ASSAY_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db.models import Count
    from django.urls import reverse

    from evidence.models import Post
    from oversight.services import acting_as, verify_chain
    from oversight.subject_access import write_export
    from register.models import Member
    from review.models import Case
    from review.services import triage

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host
    print(
        f"{Member.objects.count():,} members, {Post.objects.count():,} posts, {Case.objects.count():,} cases; "
        f"median of {args.repeat}"
    )
    lead, reviewer, operator, oversight = (_client(n) for n in ("lead", "reviewer", "operator", "oversight"))
    case = Case.objects.filter(member__isnull=False).annotate(n=Count("hits")).order_by("-n", "pk").first()
    assert case is not None and case.member_id is not None
    member = Member.objects.get(pk=case.member_id)

    _measure("queue, a lead's first page", args.repeat, _get(lead, reverse("review-queue")))
    _measure("queue, every case (all states)", args.repeat, _get(lead, reverse("review-queue") + "?state=all"))
    _measure("queue, the reviewer's cases", args.repeat, _get(reviewer, reverse("review-queue")))
    _measure(f"case page (#{case.pk}, {case.n} hits)", args.repeat, _get(lead, reverse("review-case", args=[case.pk])))
    _measure("sources page", args.repeat, _get(operator, reverse("evidence-sources")))
    _measure("oversight dashboard", args.repeat, _get(oversight, reverse("oversight-dashboard")))
    _measure("member page", args.repeat, _get(operator, reverse("register-member", args=[member.pk])))

    def export() -> None:
        with tempfile.TemporaryDirectory() as tmp, acting_as("bench"):
            write_export(member.pk, member.number, Path(tmp) / "export.zip")

    _measure("subject access export (one member)", args.repeat, export)

    from django.db import transaction

    from oversight.models import AuditEvent
    from oversight.services import record

    # Each event in its own transaction, as a page view or a command step records it. (Many thousands in
    # one transaction slow down on PostgreSQL: every event updates the chain's head row, and a row
    # updated again and again in one transaction leaves a chain of versions each lookup walks.)
    started = time.perf_counter()
    with acting_as("bench"):
        for i in range(args.audit_events):
            with transaction.atomic():
                record("bench.event", object_type="bench", object_id=i, n=i)
    seconds = time.perf_counter() - started
    rate = args.audit_events / seconds if seconds else 0.0
    label = "audit events appended (a transaction each)"
    print(f"{label:<44} {args.audit_events:>9,} in {seconds:.1f} s ({rate:,.0f}/s)")

    def verify() -> None:
        _, broken = verify_chain()
        assert broken is None, broken

    _measure(f"audit chain verification ({AuditEvent.objects.count():,} events)", args.repeat, verify)

    def nothing_new() -> None:
        with acting_as("bench"):
            triage()

    _measure("triage, nothing new", args.repeat, nothing_new)


if __name__ == "__main__":
    main()
