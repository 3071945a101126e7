"""The ``ml`` marker for tests that need the ``ml`` extra (``pip install 'assay[ml]'``).

Registered here because pytest runs with ``--strict-markers``; once pyproject.toml lists the
marker this hook can go.
"""

from __future__ import annotations

from typing import Any


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "ml: needs the ml extra (classifier models); skipped without it")
