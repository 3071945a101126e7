"""Probabilistic linking, and training its model, run only under an approved purpose that covers it
with a DPIA; declared linking always runs; each linkage run records the purpose version it ran under."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from linkage.model import LinkageError
from linkage.models import LinkageRun, TrainedModel
from linkage.services import LinkagePolicyError, run_linkage
from oversight import purposes
from oversight.models import Purpose

pytestmark = pytest.mark.django_db


def test_assay_link_refuses_probabilistic_linking_without_a_covering_purpose(settings):
    settings.LINKAGE_POLICY = "probabilistic"
    with pytest.raises(CommandError, match=r"probabilistic linking refused: purpose .* does not cover probabilistic"):
        call_command("link", stdout=StringIO())
    assert not LinkageRun.objects.exists()


def test_declared_linking_still_runs_and_records_the_purpose_in_force():
    summary = run_linkage(policy="declared")
    assert summary.policy == "declared"
    assert LinkageRun.objects.get().purpose == purposes.current(purposes.DEFAULT_PURPOSE)


@pytest.mark.no_default_purpose
def test_declared_linking_runs_without_any_purpose_and_records_none():
    run_linkage(policy="declared")
    assert LinkageRun.objects.get().purpose is None


def test_a_covering_purpose_without_its_dpia_reference_is_refused():
    Purpose.objects.update(probabilistic=True, dpia_reference="")
    with pytest.raises(LinkagePolicyError, match="has no DPIA reference for probabilistic matching"):
        run_linkage(policy="probabilistic")


def test_with_a_covering_purpose_probabilistic_linking_goes_ahead_under_it(probabilistic_purpose):
    # An empty register stops it at training, past the purpose check: the run names its purpose.
    with pytest.raises(LinkageError, match="the register is empty"):
        run_linkage(policy="probabilistic")
    assert LinkageRun.objects.get().purpose == probabilistic_purpose


def test_the_purpose_linkage_runs_under_is_a_setting(settings):
    settings.LINKAGE_PURPOSE = "Some other purpose"
    with pytest.raises(LinkagePolicyError, match="ASSAY_LINKAGE_PURPOSE='Some other purpose'"):
        run_linkage(policy="probabilistic")


def test_assay_linkage_train_refuses_without_a_purpose_covering_probabilistic_linkage():
    with pytest.raises(CommandError, match=r"training the linkage model refused: purpose .* does not cover proba"):
        call_command("linkage", "train", stdout=StringIO())
    assert not TrainedModel.objects.exists()


@pytest.mark.no_default_purpose
def test_assay_linkage_train_refuses_without_any_purpose_and_names_the_setting():
    with pytest.raises(CommandError, match=r"training the linkage model refused: .*ASSAY_LINKAGE_PURPOSE="):
        call_command("linkage", "train", stdout=StringIO())
    assert not TrainedModel.objects.exists()


def test_assay_linkage_train_refuses_under_a_retired_purpose(probabilistic_purpose, cast):
    purposes.retire(probabilistic_purpose.name, actor=cast["otto"], reason="no longer needed")
    with pytest.raises(CommandError, match=r"training the linkage model refused: purpose .* is retired"):
        call_command("linkage", "train", stdout=StringIO())


def test_with_a_covering_purpose_training_goes_past_the_purpose_check(probabilistic_purpose):
    with pytest.raises(CommandError, match="the register is empty"):
        call_command("linkage", "train", stdout=StringIO())
