"""assay stream-rules: turn the approved criteria into an X filtered-stream source's rules."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from criteria.models import RuleSet
from criteria.query import QueryError
from criteria.stream_rules import TIERS, StreamRuleError, Tier, Translation, pack, translate_query
from evidence.models import Source
from oversight.services import record as audit


class Command(BaseCommand):
    help = "Compute an X stream source's rules from the approved rule sets (broadened where X cannot express them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", metavar="SOURCE", help="an x_stream source (name or id)")
        parser.add_argument("--ruleset", metavar="NAME", help="only this rule set's approved version (default: all)")
        parser.add_argument("--dry-run", action="store_true", help="show the rules without storing them")

    def handle(self, *args: Any, **options: Any) -> None:
        source = _source(options["source"])
        tier = _tier(source)
        rulesets = RuleSet.objects.filter(status=RuleSet.Status.APPROVED).order_by("name")
        if options["ruleset"]:
            rulesets = rulesets.filter(name=options["ruleset"])
        if not rulesets:
            which = f"rule set {options['ruleset']!r}" if options["ruleset"] else "rule set"
            raise CommandError(f"no approved {which}: approve one before streaming its criteria")
        translated: list[tuple[str, Translation]] = []
        for ruleset in rulesets:
            for rule in ruleset.rules.order_by("code"):
                try:
                    translated.append((f"{ruleset.name}/{rule.code}", translate_query(rule.query)))
                except QueryError as exc:
                    raise CommandError(f"{ruleset.name}/{rule.code}: {exc.message}") from None
        try:
            packed = pack(translated, tier)
        except StreamRuleError as exc:
            raise CommandError(str(exc)) from None
        self._report(translated, packed.rules, packed.unstreamable, tier)
        if not packed.rules:
            raise CommandError("none of the rules can be streamed from X; use search sources for them")
        if options["dry_run"]:
            self.stdout.write("dry run: nothing stored")
            return
        rules = [r.as_dict() for r in packed.rules]
        with transaction.atomic():
            locked = Source.objects.select_for_update().get(pk=source.pk)
            locked.options = {**(locked.options or {}), "stream_rules": rules}
            locked.save(update_fields=["options"])
            audit("source.stream_rules_set", obj=locked, name=locked.name, rulesets=[str(r) for r in rulesets],
                  rules=len(rules), unstreamable=[code for code, _ in packed.unstreamable])  # fmt: skip
        self.stdout.write(f"{source.name}: {len(rules)} stream rule(s) stored; the next run syncs them to X")

    def _report(self, translated: list[tuple[str, Translation]], rules: Any, unstreamable: Any, tier: Tier) -> None:
        for code, translation in translated:
            for note in translation.broadened:
                self.stdout.write(f"broadened {code}: {note}")
        if any(t.broadened for _, t in translated):
            self.stdout.write(
                "broadened rules make the stream deliver more than the criteria match; "
                "the matcher (assay run-rules) filters afterwards with the exact criteria"
            )
        for code, problem in unstreamable:
            self.stdout.write(f"not streamed {code}: {problem}")
        self.stdout.write(f"{len(rules)} of at most {tier.max_rules} stream rules ({tier.name} tier):")
        for rule in rules:
            self.stdout.write(f"  [{rule.tag}] {rule.value}")


def _source(name: str) -> Source:
    source = Source.objects.filter(name=name).first()
    if source is None and name.isdigit():
        source = Source.objects.filter(pk=int(name)).first()
    if source is None:
        raise CommandError(f"no source {name!r}; see `assay sources`")
    if source.connector != "x_stream":
        raise CommandError(f"{source.name} uses {source.connector}; stream rules are for x_stream sources")
    return source


def _tier(source: Source) -> Tier:
    """The source's access tier (``options.tier``, default pro), with optional overrides of its limits."""
    options = source.options or {}
    name = str(options.get("tier", "pro")).lower()
    if name not in TIERS:
        raise CommandError(f"{source.name}: unknown tier {name!r}; choose {' or '.join(TIERS)}")
    base = TIERS[name]
    try:
        return Tier(name, int(options.get("max_rules", base.max_rules)), int(options.get("max_rule_length",
                                                                                        base.max_length)))  # fmt: skip
    except (TypeError, ValueError):
        raise CommandError(f"{source.name}: max_rules and max_rule_length must be whole numbers") from None
