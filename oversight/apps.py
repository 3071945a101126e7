"""The oversight app: the audit chain, and the registries other apps declare into.

oversight imports no app: at start-up it collects each app's figures (``<app>/figures.py``, for the
dashboard) and personal-data declarations (``<app>/personal_data.py``, for retention, subject access
and erasure), registers its system checks and its own personal data (the mail outbox), and makes
every sign-in's session cover the person's sign-in key (oversight/signin.py) and every failed
password step and lock-out audited (oversight/lockout.py).
"""

from __future__ import annotations

from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.utils.module_loading import autodiscover_modules

        from oversight import audit_figures, checks, outbox  # noqa: F401 -- registering is importing
        from oversight.lockout import record_failed_sign_in, record_lockout
        from oversight.signin import hash_session_with_key

        user_logged_in.connect(hash_session_with_key, dispatch_uid="oversight-sign-in-key")
        user_locked_out.connect(record_lockout, dispatch_uid="oversight-lockout-audit")
        # After axes' own receiver (axes is installed first): the failure is counted, a lock-out flagged.
        user_login_failed.connect(record_failed_sign_in, dispatch_uid="oversight-sign-in-failed-audit")

        autodiscover_modules("figures")
        autodiscover_modules("personal_data")
