"""The oversight app: the audit chain, and the registries other apps declare into.

oversight imports no app: at start-up it collects each app's figures (``<app>/figures.py``, for the
dashboard) and personal-data declarations (``<app>/personal_data.py``, for retention, subject access
and erasure), and registers its system checks and its own personal data (the mail outbox).
"""

from __future__ import annotations

from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from oversight import audit_figures, checks, outbox  # noqa: F401 -- registering is importing

        autodiscover_modules("figures")
        autodiscover_modules("personal_data")
