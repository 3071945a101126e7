"""The synthetic register: names as common as published figures say, and the earlier model kept."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from linkage.synth import (
    COMMON_FAMILY,
    GB_FAMILY_ANCHORS,
    GIVEN_NAMES,
    Dataset,
    Generator,
    gb_family_names,
    gb_given_names,
    generate,
)


def test_family_names_are_as_common_as_in_great_britain() -> None:
    family = gb_family_names()
    assert family.names[:100] == COMMON_FAMILY
    assert 0.20 <= family.share(100) <= 0.25  # the top 100 surnames cover about a fifth of Britons
    assert 0.50 <= family.share(1000) <= 0.60
    assert 0.05 <= 1 - family.share(16554) <= 0.12  # rarer than 5 per million
    # The frequencies pass through the published anchors: their ratios are kept exactly.
    weights = [b - a for a, b in zip([0.0, *family.cum_weights], family.cum_weights, strict=False)]
    (r1, f1), (r2, f2) = GB_FAMILY_ANCHORS[1], GB_FAMILY_ANCHORS[8]
    assert weights[r1 - 1] / weights[r2 - 1] == pytest.approx(f1 / f2)


def test_given_names_are_as_common_as_pooled_birth_registrations() -> None:
    given = gb_given_names()
    assert given.names[: len(GIVEN_NAMES)] == GIVEN_NAMES
    assert 0.08 <= given.share(10) <= 0.14
    assert 0.40 <= given.share(100) <= 0.50
    assert 0.78 <= given.share(1000) <= 0.88


def test_made_up_names_are_distinct_letters_and_never_a_listed_name() -> None:
    for names, listed in ((gb_family_names().names, COMMON_FAMILY), (gb_given_names().names, GIVEN_NAMES)):
        made_up = names[len(listed) :]
        assert len(set(names)) == len(names)
        assert all(name.isalpha() and name.islower() for name in made_up)
        assert not set(made_up) & set(COMMON_FAMILY + GIVEN_NAMES)


def test_a_drawn_register_has_the_long_tail_the_flat_model_lacked() -> None:
    rank = {name: i + 1 for i, name in enumerate(gb_family_names().names)}
    gb = [m.family_name.lower() for m in generate(20_000, 0, seed=3).members]
    assert sum(rank[f] <= 100 for f in gb if f in rank) / len(gb) == pytest.approx(0.22, abs=0.02)
    rarer_than_5_per_million = sum(f in rank and rank[f] > 16554 for f in gb) / len(gb)
    assert rarer_than_5_per_million == pytest.approx(0.09, abs=0.02)
    # The flat model's tail: 6,400 names of equal weight, each borne by ~1 in 8,000 people.
    flat = Counter(m.family_name.lower() for m in generate(20_000, 0, seed=3, names="flat").members)
    assert sum(n for f, n in flat.items() if f in COMMON_FAMILY) / 20_000 == pytest.approx(0.22, abs=0.02)
    assert len(flat) < 6400 + 100 + 20_000 * 0.02  # the pool, and the register's 2% typos


def test_the_flat_model_draws_only_the_first_generators_names() -> None:
    gen = Generator(seed=9, names="flat")
    people = [gen.person() for _ in range(2000)]
    assert {p.given for p in people} <= set(GIVEN_NAMES)
    assert {p.family for p in people} <= set(gen.family_pool)
    assert len(gen.family_pool) == 100 + 6400


def test_the_same_seed_gives_the_same_data() -> None:
    a, b = generate(500, 300, seed=4), generate(500, 300, seed=4)
    assert a.members == b.members and a.accounts == b.accounts and a.truth == b.truth


def test_an_unknown_name_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown name model 'us'"):
        Generator(names="us")  # type: ignore[arg-type]


def test_the_default_draws_never_change_without_notice() -> None:
    # The figures in docs/linkage.md were measured on these draws: a change to the generator that
    # moves them must be deliberate (update the digests and re-measure the benchmark).
    import hashlib

    def digest(data: Dataset) -> str:
        return hashlib.sha256(repr((data.members, data.accounts, sorted(data.truth.items()))).encode()).hexdigest()

    assert digest(generate(400, 400, seed=4)) == "7bd246fac4d2e55602b0954ab28f73f889be60a2450e832ddb66573eee0afb08"
    assert (
        digest(generate(400, 400, seed=4, names="flat"))
        == "3c6a1e25eee377bf776690f8eed63bc97ed5c0b426365e9e244adb6a6a95f732"
    )


def test_the_full_profile_shows_every_owner_by_full_name_and_district() -> None:
    sparse, full = generate(2000, 2000, seed=6), generate(2000, 2000, seed=6, profile="full")
    assert sparse.members == full.members and sparse.truth == full.truth  # the same people
    members = {m.member_id: m for m in full.members}
    owned = [a for a in full.accounts if a.account_id in full.truth]
    for account in owned:
        member = members[full.truth[account.account_id]]
        words = account.display_name.split(" ")  # "Given Family", an emoji may follow
        assert len(words) >= 2 and words[0].lower() == member.given_name.lower()
        assert re.fullmatch(r"[A-Z]{2}[0-9]{1,2}", account.location)  # a postcode district
        if re.fullmatch(r"[A-Z]{2}[0-9]{1,2} [0-9][A-Z]{2}", member.postcode):
            assert member.postcode.split(" ")[0] == account.location
    # The sparse accounts leave fields out; the full ones never do.
    assert sum(not a.display_name for a in sparse.accounts) > 0.1 * len(sparse.accounts)
    assert sum(not a.location for a in sparse.accounts) > 0.4 * len(sparse.accounts)
    assert all(a.display_name and a.location for a in full.accounts)


def test_an_unknown_account_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown account profile 'rich'"):
        Generator(profile="rich")  # type: ignore[arg-type]
