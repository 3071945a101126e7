"""The linkage core: obvious, nickname and handle-derived links; one-to-one; exclusions; errors."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from linkage.model import (
    AccountRecord,
    LinkageError,
    LinkageModel,
    MemberRecord,
    ThresholdRow,
    evaluate,
    find_duplicate_members,
    prepare,
)
from linkage.synth import generate


@pytest.fixture(autouse=True)
def _quiet_splink():
    logging.getLogger("splink").setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def world():
    data = generate(3000, 3000, seed=11)
    register = prepare(data.members)
    model = LinkageModel.train(register, data.accounts)
    return data, register, model


MARGARET = MemberRecord(900001, "Margaret", "Quillfeather", "mags.q@example.org", date(1961, 4, 2), "Leeds", "LS6 2AB")
WILLIAM = MemberRecord(900002, "William", "Ostrowski", "", date(1984, 9, 9), "York", "YO1 7HH")
JANE = MemberRecord(900003, "Jane", "Harbottle", "", None, "", "")


def _link(world, *accounts, **kw):
    data, _, model = world
    return {c.account_id: c for c in model.predict([*data.members, MARGARET, WILLIAM, JANE], list(accounts), **kw)}


def test_it_links_the_obvious_pair_with_evidence_that_adds_up(world):
    acct = AccountRecord(1, "x", "mags_q", "Margaret Quillfeather", "nurse in Leeds", "Leeds, UK")
    found = _link(world, acct)
    assert found[1].member_id == MARGARET.member_id
    assert found[1].probability > 0.9
    names = [e.comparison for e in found[1].evidence]
    assert names[0] == "prior" and "family_name" in names and names[-1] == "other candidates"
    total = sum(e.weight for e in found[1].evidence)
    assert total == pytest.approx(_log2_odds(found[1].probability), abs=0.01)


def test_it_links_nicknames_and_handle_derived_names(world):
    peggy = AccountRecord(2, "bluesky", "peggyq", "Peggy Quillfeather", "", "LS6")
    handle_only = AccountRecord(3, "x", "wostrowski_84", "", "", "York")
    found = _link(world, peggy, handle_only)
    assert found[2].member_id == MARGARET.member_id
    given = next(e for e in found[2].evidence if e.comparison == "given_name")
    assert given.level.startswith("nickname")
    assert found[3].member_id == WILLIAM.member_id
    year = next(e for e in found[3].evidence if e.comparison == "birth_year")
    assert year.level == "same year" and year.weight > 0


def test_an_account_goes_to_at_most_one_member_and_ambiguity_lowers_probability(world):
    data, _, model = world
    twin = MemberRecord(900004, "Margaret", "Quillfeather", "", date(1961, 4, 2), "Leeds", "LS6 9ZZ")
    acct = AccountRecord(4, "x", "mquillfeather61", "Margaret Quillfeather", "", "Leeds")
    alone = model.predict([*data.members, MARGARET], [acct], threshold=0.0)
    shared = model.predict([*data.members, MARGARET, twin], [acct], threshold=0.0)
    assert len(shared) == 1
    assert shared[0].probability < alone[0].probability
    rivals = shared[0].evidence[-1]
    assert rivals.comparison == "other candidates" and rivals.weight < 0


def test_a_rejected_pair_is_never_proposed_again(world):
    acct = AccountRecord(5, "x", "mags_q", "Margaret Quillfeather", "", "Leeds")
    assert 5 in _link(world, acct)
    assert 5 not in _link(world, acct, exclude={(5, MARGARET.member_id)})


def test_records_with_missing_or_malformed_fields_still_link_on_what_they_have(world):
    data, _, model = world
    odd = MemberRecord(900005, "Ósk", "Þórsdóttir-Brown", "not an email", None, "", "N/A")
    members = [*data.members, odd, JANE]
    accounts = [
        AccountRecord(6, "x", "@@@", "", "", ""),
        AccountRecord(7, "mastodon", "osk@mastodon.example", "Ósk Þórsdóttir-Brown 🌹", "b. 19xx", "???"),
        AccountRecord(8, "x", "", "Jane Harbottle", "", ""),
    ]
    found = {c.account_id: c for c in model.predict(members, accounts, threshold=0.0)}
    assert 6 not in found
    assert found[7].member_id == odd.member_id
    assert found[8].member_id == JANE.member_id


def test_a_synthetic_register_links_with_useful_accuracy(world):
    data, register, model = world
    candidates = model.predict(register, data.accounts)
    labels = [(a, m, True) for a, m in data.truth.items()]
    labels += [(c.account_id, c.member_id, False) for c in candidates if c.account_id not in data.truth]
    (row,) = evaluate(candidates, labels, thresholds=[0.5])
    assert row.precision > 0.9 and row.recall > 0.7


def test_save_and_load_give_the_same_predictions(world, tmp_path):
    data, register, model = world
    path = tmp_path / "model.json"
    model.save(path)
    loaded = LinkageModel.load(path)
    assert loaded.version == model.version
    assert json.loads(path.read_text())["splink_settings"]["link_type"] == "link_only"
    sample = data.accounts[:400]
    assert loaded.predict(register, sample) == model.predict(register, sample)


def test_empty_inputs_and_untrained_models_give_clear_errors(world, tmp_path):
    data, _, model = world
    with pytest.raises(LinkageError, match="register is empty"):
        model.predict([], data.accounts[:5])
    with pytest.raises(LinkageError, match="no accounts"):
        model.predict(data.members[:5], [])
    with pytest.raises(LinkageError, match="not trained"):
        LinkageModel(settings={}, version="none").predict(data.members[:5], data.accounts[:5])
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(LinkageError, match="cannot read"):
        LinkageModel.load(bad)
    with pytest.raises(LinkageError, match="unknown linkage backend"):
        prepare(data.members[:5], backend="oracle")  # type: ignore[arg-type]


def test_it_finds_duplicate_members_in_the_register(world):
    data, _, model = world
    members = data.members[:1500]
    first = members[0]
    again = MemberRecord(990001, first.given_name, first.family_name, first.email, first.date_of_birth, first.town, "")
    pairs = find_duplicate_members(model, [*members, again], threshold=0.9)
    assert (first.member_id, 990001) in {(a, b) for a, b, _ in pairs}


def test_evaluate_on_a_hand_checked_label_set():
    scores = [(1, 10, 0.95), (2, 20, 0.8), (3, 31, 0.7), (4, 40, 0.3), (5, 50, 0.9)]
    labels = [(1, 10, True), (2, 20, True), (3, 30, True), (4, 40, True), (5, 50, False), (6, 60, True)]
    rows = evaluate(scores, labels, thresholds=[0.5, 0.9])
    # at 0.5: proposals 1,2,3,5 -> TP 1,2; FP 3 (account 3 is member 30's), 5 (rejected); FN 3,4,6
    assert rows[0] == ThresholdRow(0.5, 0.5, 0.4, 0.444444, 2, 2, 3)
    # at 0.9: proposals 1,5 -> TP 1; FP 5; FN 2,3,4,6
    assert rows[1] == ThresholdRow(0.9, 0.5, 0.2, 0.285714, 1, 1, 4)


def _log2_odds(p):
    import math

    return math.log2(p / (1 - p))


def test_name_keys_block_only_for_names_few_members_share():
    from linkage.model import _KEY_CAP, _rare_keys, _with_keys, account_features, member_features, vocabulary

    common = [MemberRecord(i, "John", "Smith") for i in range(1, _KEY_CAP + 2)]
    rare = [MemberRecord(500, "Ada", "Quillfeather", date_of_birth=date(1970, 1, 1))]
    members = member_features([*common, rare[0]])
    keys = _rare_keys(members)
    accounts = account_features(
        [AccountRecord(1, "x", "", "John Smith"), AccountRecord(2, "x", "", "Ada Quillfeather")], vocabulary(members)
    )
    blocked = _with_keys(accounts, keys).column("key_given_family").to_pylist()
    assert blocked == [None, "ada|quillfeather"]
    member_keys = _with_keys(members, keys).column("key_given_family").to_pylist()
    assert member_keys[: _KEY_CAP + 1] == [None] * (_KEY_CAP + 1) and member_keys[-1] == "ada|quillfeather"


def _weight(candidate):
    """The proposal's own match weight: its bars without the one-to-one sharing."""
    return sum(e.weight for e in candidate.evidence if e.comparison != "other candidates")


def test_the_other_candidates_are_ranked_shared_like_the_proposal_and_respect_rejections(world):
    data, _, model = world
    # Six Quillfeathers who fit the account less and less well: at most three runners-up are kept.
    quills = [
        MARGARET,
        MemberRecord(900011, "Margaret", "Quillfeather", "", date(1961, 4, 2), "Leeds", "LS6 9ZZ"),
        MemberRecord(900012, "Peggy", "Quillfeather", "", date(1961, 1, 1), "Leeds", ""),
        MemberRecord(900013, "Margaret", "Quillfeather", "", date(1961, 1, 1), "York", ""),
        MemberRecord(900014, "Margaret", "Quillfeather", "", date(1962, 1, 1), "Hull", ""),
        MemberRecord(900015, "Margaret", "Quillfeather", "", None, "", ""),
    ]
    members = [*data.members, *quills]
    acct = AccountRecord(40, "x", "mquillfeather61", "Margaret Quillfeather", "", "Leeds")

    (best,) = model.predict(members, [acct], threshold=0.0)
    assert len(best.others) == 3
    rivals = best.evidence[-1]
    assert int(rivals.level.split()[0]) > 3  # more runners-up scored than are listed
    assert best.member_id in {MARGARET.member_id, 900011}
    weights = [_weight(best), *(o.match_weight for o in best.others)]
    assert weights == sorted(weights, reverse=True)
    ids = [best.member_id, *(o.member_id for o in best.others)]
    assert len(set(ids)) == 4 and set(ids) <= {m.member_id for m in quills}
    # Shared the same way: P(i) = 2^w_i / (1 + Σ 2^w_j), so the ratio of two is 2^(w_i - w_j) and
    # the proposal's "other candidates" bar is log2 of (1 + Σ odds) over every member that scored.
    for other in best.others:
        assert other.probability / best.probability == pytest.approx(
            2 ** (other.match_weight - _weight(best)), rel=1e-3
        )
    assert best.probability + sum(o.probability for o in best.others) < 1

    # A rejected runner-up is neither listed nor counted; rejecting the proposal promotes the next.
    rejected_rival = best.others[0].member_id
    (without_rival,) = model.predict(members, [acct], threshold=0.0, exclude={(40, rejected_rival)})
    assert without_rival.member_id == best.member_id
    assert rejected_rival not in {o.member_id for o in without_rival.others}
    assert without_rival.probability > best.probability
    (promoted,) = model.predict(members, [acct], threshold=0.0, exclude={(40, best.member_id)})
    assert promoted.member_id == best.others[0].member_id
    assert best.member_id not in {o.member_id for o in promoted.others}
    assert [o.member_id for o in promoted.others][:2] == [o.member_id for o in best.others][1:]


def test_an_account_with_one_plausible_member_has_no_other_candidates(world):
    acct = AccountRecord(41, "x", "", "Jane Harbottle", "", "")
    assert _link(world, acct)[41].others == ()
