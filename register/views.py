"""Member pages for operators: what assay holds about a member, subject access export, erasure.

Thin: who may see a member is decided in :func:`_get_member_for_user`; the work is in
:mod:`oversight.subject_access`, :mod:`oversight.erasure` and :mod:`register.services`.
Every page that shows a member is an audit event.
"""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from oversight.erasure import ErasurePlan, ErasureRefused, erase_member, plan_erasure
from oversight.privacy import counts, holds_on, scope_of
from oversight.roles import Role, request_roles
from oversight.services import record as audit
from oversight.subject_access import write_export
from register.forms import EraseForm, FindMemberForm
from register.models import Member
from register.services import MemberNotFound, find_member, lift_restriction, restrict_member


def _require_operator(request: HttpRequest) -> None:
    if Role.OPERATOR not in request_roles(request):
        raise PermissionDenied("member records are for operators")


def _get_member_for_user(request: HttpRequest, member_id: int) -> Member:
    """The member, if this user may see members at all (operators only)."""
    _require_operator(request)
    return get_object_or_404(Member, pk=member_id)


@login_required
@require_GET
def find_member_page(request: HttpRequest) -> HttpResponse:
    """Search by membership number; a match goes straight to the member's page."""
    _require_operator(request)
    form = FindMemberForm(request.GET or None)
    if form.is_valid():
        try:
            member = find_member(form.cleaned_data["number"])
        except MemberNotFound as exc:
            form.add_error("number", str(exc))
        else:
            return redirect("register-member", member_id=member.pk)
    return render(request, "register/find.html", {"form": form})


@login_required
@require_GET
def show_member(request: HttpRequest, member_id: int) -> HttpResponse:
    """What is held about the member, per category, and the data-protection actions."""
    member = _get_member_for_user(request, member_id)
    scope = scope_of(member.pk)
    audit("member.viewed", actor=request.user, obj=member)
    context = {
        "member": member,
        "held": list(reversed(counts(scope))),  # the register record first, decisions last
        "holds": holds_on(scope_of(member.pk, only_theirs=True, addresses=False), timezone.now()),
    }
    return render(request, "register/member.html", context)


@login_required
@require_POST
def download_export(request: HttpRequest, member_id: int) -> HttpResponse:
    """The subject access zip (audited as member.subject_access by the service)."""
    member = _get_member_for_user(request, member_id)
    buffer = io.BytesIO()
    write_export(member.pk, member.number, buffer, actor=request.user)
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="subject-access-{member.pk}.zip"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def erase_or_restrict(request: HttpRequest, member_id: int) -> HttpResponse:
    """Confirm page for erasure or restriction; a reason is required, holds refuse erasure."""
    member = _get_member_for_user(request, member_id)
    if member.erased_at is not None:
        messages.error(request, f"This member's data was already erased on {member.erased_at:%d %b %Y}.")
        return redirect("register-member", member_id=member.pk)
    form = EraseForm(request.POST or None, restricted=member.restricted_at is not None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]
        if form.cleaned_data["action"] == EraseForm.LIFT:
            lift_restriction(member, reason=reason, actor=request.user)
            messages.success(request, "Restriction lifted: new links and cases may be made again.")
            return redirect("register-member", member_id=member.pk)
        if form.cleaned_data["action"] == EraseForm.RESTRICT:
            restrict_member(member, reason=reason, actor=request.user)
            messages.success(request, "Processing restricted: no new links or cases for this member.")
            return redirect("register-member", member_id=member.pk)
        try:
            plan = erase_member(member.pk, reason=reason, actor=request.user, apply=True)
        except ErasureRefused as exc:
            form.add_error(None, "Erasure refused while holds apply (listed below). Restrict processing instead?")
            return render(request, "register/erase.html", _erase_context(member, form, exc.plan), status=409)
        messages.success(request, f"Personal data erased: {sum(plan.done.values())} rows across the apps.")
        return redirect("register-member", member_id=member.pk)
    audit("member.viewed", actor=request.user, obj=member, page="erase")
    return render(request, "register/erase.html", _erase_context(member, form, plan_erasure(member.pk)))


def _erase_context(member: Member, form: EraseForm, plan: ErasurePlan) -> dict[str, object]:
    return {"member": member, "form": form, "plan": plan}
