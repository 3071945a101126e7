"""oversight's app config: at start-up, collect every app's figures and register the system checks."""

from __future__ import annotations

from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from oversight import audit_figures, checks  # noqa: F401 -- registering is importing

        # oversight imports no app; each app registers its own figures from <app>/figures.py.
        autodiscover_modules("figures")
