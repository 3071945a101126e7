"""ASSAY_SECOND_LOOK_SHARE: the share of no-breach decisions a lead takes a second look at."""

from __future__ import annotations

import importlib

import pytest

import assay.settings


def test_the_share_setting_must_be_a_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_SECOND_LOOK_SHARE", "5")
    with pytest.raises(ValueError, match=r"ASSAY_SECOND_LOOK_SHARE=5\.0: expected a share from 0 to 1"):
        importlib.reload(assay.settings)
    monkeypatch.setenv("ASSAY_SECOND_LOOK_SHARE", "lots")
    with pytest.raises(ValueError, match="ASSAY_SECOND_LOOK_SHARE='lots': expected a number"):
        importlib.reload(assay.settings)
    monkeypatch.delenv("ASSAY_SECOND_LOOK_SHARE")
    importlib.reload(assay.settings)
    assert assay.settings.SECOND_LOOK_SHARE == 0.05
