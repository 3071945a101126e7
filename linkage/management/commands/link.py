"""assay link: link accounts to members under ASSAY_LINKAGE_POLICY."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from evidence.models import Account
from linkage.model import LinkageError
from linkage.services import LinkagePolicyError, run_linkage
from oversight.console import progress_bar


class Command(BaseCommand):
    help = "Link accounts to members: declared identifiers (default), plus Splink proposals if the policy allows."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with progress_bar("linking accounts", Account.objects.count()) as update:
                summary = run_linkage(progress=update)
        except (LinkagePolicyError, LinkageError) as exc:
            raise CommandError(str(exc)) from None
        line = (
            f"policy {summary.policy}: {summary.accounts_considered} accounts considered, "
            f"{summary.declared_links} new declared links"
        )
        if summary.policy == "probabilistic":
            line += f", {summary.proposals} new proposals for reviewers (model {summary.model_version})"
        self.stdout.write(line)
