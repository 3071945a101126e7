"""Audit: append events to the chain and verify it. Every app calls :func:`record`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.utils import timezone

from oversight import chain
from oversight.models import AuditEvent, ChainHead


def _actor_name(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return str(getattr(actor, "username", actor))


def record(
    action: str,
    *,
    actor: Any = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    **data: Any,
) -> AuditEvent:
    """Append one event to the audit chain, inside the caller's transaction."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    with transaction.atomic():
        head, _ = ChainHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"last_seq": 0, "last_hash": chain.GENESIS_HASH}
        )
        event = AuditEvent(
            seq=head.last_seq + 1,
            at=timezone.now(),
            actor=_actor_name(actor),
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            data=data,
            prev_hash=head.last_hash,
        )
        # Hash what the database will give back: round-trip data through JSON now.
        event.data = chain.json_roundtrip(event.data)
        event.hash = chain.event_hash(event.prev_hash, event.body())
        event.save()
        head.last_seq, head.last_hash = event.seq, event.hash
        head.save(update_fields=["last_seq", "last_hash"])
    return event


def _chained_events() -> Iterator[chain.ChainedEvent]:
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=5000):
        yield chain.ChainedEvent(event.seq, event.body(), event.prev_hash, event.hash)


def verify_chain() -> tuple[int, chain.ChainBreak | None]:
    """Verify the whole chain; return (events checked, first break or None)."""
    total = AuditEvent.objects.count()
    broken = chain.verify(_chained_events())
    if broken is None:
        head = ChainHead.objects.filter(pk=1).first()
        if head is not None and head.last_seq != total:
            broken = chain.ChainBreak(head.last_seq, f"the chain's tip is event {head.last_seq} but {total} exist")
    return total, broken


def create_user(username: str, role: str, *, password: str, email: str = "", actor: Any = None) -> Any:
    """Create a user with one role (a Django group); audited. Raises ValueError on a bad role or name."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from oversight.roles import Role

    try:
        role_enum = Role(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}") from None
    user_model = get_user_model()
    with transaction.atomic():
        if user_model.objects.filter(username=username).exists():
            raise ValueError(f"user {username!r} already exists")
        user = user_model.objects.create_user(username=username, email=email, password=password)
        group, _ = Group.objects.get_or_create(name=role_enum.value)
        user.groups.add(group)
        record("user.created", actor=actor, obj=user, username=username, role=role_enum.value)
    return user


def set_password(username: str, password: str, *, actor: Any = None) -> Any:
    """Reset a user's password; audited (the password itself is never recorded)."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    with transaction.atomic():
        try:
            user = user_model.objects.get(username=username)
        except user_model.DoesNotExist:
            raise ValueError(f"no user {username!r}") from None
        user.set_password(password)
        user.save(update_fields=["password"])
        record("user.password_reset", actor=actor, obj=user, username=username)
    return user
