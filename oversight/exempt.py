"""Which paths a signed-in but not yet second-factor-verified person may open (pure: no Django)."""

from __future__ import annotations

# Sign-in and its steps, signing out, a member's notice (the token is their key; they have no login),
# and static files.
EXEMPT_PREFIXES = ("/login/", "/logout/", "/notice/", "/static/")


def needs_second_factor(path: str, *, required: bool, authenticated: bool, verified: bool) -> bool:
    """True when the request must first pass the second-factor step."""
    if not required or not authenticated or verified:
        return False
    return not any(path.startswith(prefix) for prefix in EXEMPT_PREFIXES)
