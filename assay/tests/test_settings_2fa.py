"""ASSAY_REQUIRE_2FA: on unless switched off."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

import assay.settings


@pytest.fixture
def reload_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], ModuleType]]:
    yield lambda: importlib.reload(assay.settings)
    monkeypatch.undo()
    importlib.reload(assay.settings)


def test_two_factor_is_required_by_default_and_can_be_switched_off(
    monkeypatch: pytest.MonkeyPatch, reload_settings: Callable[[], ModuleType]
) -> None:
    monkeypatch.delenv("ASSAY_REQUIRE_2FA", raising=False)
    assert reload_settings().ASSAY_REQUIRE_2FA is True
    monkeypatch.setenv("ASSAY_REQUIRE_2FA", "0")
    assert reload_settings().ASSAY_REQUIRE_2FA is False
