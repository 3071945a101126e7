"""Ending a person's sessions everywhere, whatever the session store.

Django proves each session with a hash over the user's password hash (``get_session_auth_hash``).
assay folds a per-person sign-in key into that hash (:class:`oversight.models.SignedInUser`), and
:func:`end_sessions` rotates the key: every session the person has — in the database, in signed
cookies, in a cache — stops matching on its next request and Django signs it out. The password is
never touched.

:class:`StaffBackend` loads the user with the key in the same query (no query per request), and
:func:`hash_session_with_key` makes the hash a new sign-in stores cover the current key.
"""

from __future__ import annotations

import secrets
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.utils import timezone

from oversight.models import SignedInUser, SignInKey, session_auth_hash


class StaffBackend(ModelBackend):
    """Django's ModelBackend, but users come back as SignedInUser with their sign-in key (one query each)."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> SignedInUser | None:
        """ModelBackend's check, loading the key with the user: signing in costs no extra query."""
        username = username if username is not None else kwargs.get(SignedInUser.USERNAME_FIELD)
        if username is None or password is None:
            return None
        lookup = {SignedInUser.USERNAME_FIELD: username}
        user = SignedInUser._default_manager.select_related("sign_in_key").filter(**lookup).first()
        if user is None:
            SignedInUser().set_password(password)  # as ModelBackend: as slow as for a real user (Django #20760)
            return None
        return user if user.check_password(password) and self.user_can_authenticate(user) else None

    async def aauthenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> SignedInUser | None:
        return await sync_to_async(self.authenticate)(request, username, password, **kwargs)

    def get_user(self, user_id: Any) -> SignedInUser | None:
        user = SignedInUser._default_manager.select_related("sign_in_key").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

    async def aget_user(self, user_id: Any) -> SignedInUser | None:
        user = await SignedInUser._default_manager.select_related("sign_in_key").filter(pk=user_id).afirst()
        return user if user is not None and self.user_can_authenticate(user) else None


def key_of(user: Any) -> str:
    """The person's current sign-in key ("" when they have none yet)."""
    if isinstance(user, SignedInUser) and type(user).sign_in_key.is_cached(user):
        return user.sign_in_key_value()
    return SignInKey.objects.filter(user_id=user.pk).values_list("value", flat=True).first() or ""


def hash_session_with_key(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """On every sign-in (``user_logged_in``): the session's hash covers the person's current key.

    ``django.contrib.auth.login`` stored the hash of whatever user object it was given; for a person
    with a key, store the hash :class:`StaffBackend`'s user will be checked against.
    """
    session = getattr(request, "session", None)
    key = key_of(user) if session is not None else ""
    if key:
        session[HASH_SESSION_KEY] = session_auth_hash(user.password, key)  # type: ignore[index]


def end_sessions(user: Any) -> None:
    """Sign the person out of every session they have, in any session store: rotate their key."""
    with transaction.atomic():
        SignInKey.objects.update_or_create(
            user_id=user.pk, defaults={"value": secrets.token_hex(32), "rotated_at": timezone.now()}
        )
