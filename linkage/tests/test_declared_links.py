"""Declared linkage: exact, normalised matches on identifiers members gave us; idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from evidence.services import import_posts
from linkage.models import Link
from linkage.services import run_linkage
from register.services import import_register

REGISTER = """number,given_name,family_name,x_handle,bluesky_handle
M1,Peggy,Oakes,@PeggyOakes61,https://bsky.app/profile/peggy.bsky.social
M2,Bill,Stone,,
"""


def _post(n: int, platform: str, author_id: str, handle: str) -> str:
    return json.dumps(
        {
            "platform": platform,
            "id": str(n),
            "text": "hello",
            "author": {"id": author_id, "handle": handle, "name": "Bill Stone"},
        }
    )


@pytest.fixture
def world(tmp_path: Path, db) -> None:
    (tmp_path / "r.csv").write_text(REGISTER, encoding="utf-8")
    import_register(tmp_path / "r.csv")
    lines = [
        _post(1, "x", "100", "peggyoakes61"),
        _post(2, "bluesky", "did:plc:peggy", "Peggy.bsky.social"),
        _post(3, "bluesky", "did:plc:other", "peggyoakes61"),  # same handle, other platform: not hers
        _post(4, "x", "200", "billstone"),  # looks like Bill, but he declared nothing
    ]
    (tmp_path / "p.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_posts(tmp_path / "p.ndjson")


@pytest.mark.usefixtures("world")
def test_it_links_only_declared_identifiers_on_the_same_platform(capsys):
    call_command("link")

    assert "2 new declared links" in capsys.readouterr().out
    links = {
        (link.account.platform_id, link.member.number) for link in Link.objects.select_related("account", "member")
    }
    assert links == {("100", "M1"), ("did:plc:peggy", "M1")}
    assert all(
        (lnk.method, lnk.status, lnk.probability) == ("declared", "confirmed", 1.0) for lnk in Link.objects.all()
    )


@pytest.mark.usefixtures("world")
def test_linking_twice_changes_nothing():
    run_linkage()
    again = run_linkage()

    assert again.declared_links == 0
    assert Link.objects.count() == 2


@pytest.mark.usefixtures("world")
def test_an_unknown_policy_is_a_clear_error(settings):
    from linkage.services import LinkagePolicyError

    settings.LINKAGE_POLICY = "guess"
    with pytest.raises(LinkagePolicyError, match="ASSAY_LINKAGE_POLICY='guess'"):
        run_linkage()
