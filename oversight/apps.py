"""The oversight app: the audit chain, and the registries other apps declare into."""

from __future__ import annotations

from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Personal data: each app declares what it holds in <app>/personal_data.py (oversight/privacy.py).
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("personal_data")
        from django.core.checks import register

        from oversight.checks import check_retention

        register(check_retention)
