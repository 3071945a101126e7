"""assay evidence-pack: build a case's evidence pack for the disciplinary panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from review import packs
from review.models import Case
from review.notices import CLI_ACTOR


class Command(BaseCommand):
    help = (
        "Build a case's evidence pack (a verifiable zip) for the disciplinary panel.\n\n"
        "`assay evidence-pack CASE_ID --out FILE.zip`. For a closed case whose signed-off adverse outcome "
        "stands (a referral, or a warning or advice the panel asks about). The zip holds index.html (readable "
        "offline), each raw post and collected page, the case's audit events, manifest.json and verify.py "
        "(run `python3 verify.py` in the unzipped folder to check it). A collected page that names or carries "
        "any account other than the case's is withheld (listed with its sha256 and why), and so is a post's raw "
        "record that names anyone else (a reblog, quote, mention or reply): the post's own text stays. Each "
        "build is audited "
        "with its sha256."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("case_id", type=int, help="the case's number")
        parser.add_argument("--out", required=True, help="where to write the zip (an existing file is replaced)")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        if out.is_dir():
            raise CommandError(f"--out {out}: is a folder; give a file name such as {out / 'pack.zip'}")
        if not out.parent.is_dir():
            raise CommandError(f"--out {out}: the folder {out.parent} does not exist")
        case = Case.objects.filter(pk=options["case_id"]).first()
        if case is None:
            raise CommandError(f"there is no case {options['case_id']}")
        try:
            built = packs.build_pack(case, actor=CLI_ACTOR)
        except packs.PackError as exc:
            raise CommandError(str(exc)) from None
        out.write_bytes(built.data)
        self.stdout.write(
            f"case {case.pk}: evidence pack written to {out} ({built.record.size:,} bytes, "
            f"sha256 {built.record.sha256}); check it with `python3 verify.py` in the unzipped folder"
        )
