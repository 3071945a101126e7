"""Settings for assay, read from the environment (every variable is listed in .env.example).

One file, no ladders: the defaults are the embedded setup (SQLite in ``ASSAY_DATA_DIR``);
production sets ``ASSAY_DATABASE_URL`` and friends.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url


def env_str(name: str, default: str = "") -> str:
    """A string from the environment; ``NAME_FILE`` (a path) wins, for secrets."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}={raw!r}: expected one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected an integer") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a number") from None


def _secret_key(data_dir: Path) -> str:
    """ASSAY_SECRET_KEY if set, else a key generated once into the data directory."""
    key = env_str("ASSAY_SECRET_KEY")
    if key:
        return key
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_urlsafe(50))
    return key_file.read_text(encoding="utf-8").strip()


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("ASSAY_DATA_DIR", str(Path.cwd() / "var"))).resolve()

SECRET_KEY = _secret_key(DATA_DIR)
DEBUG = env_bool("ASSAY_DEBUG")
ALLOWED_HOSTS: list[str] = [
    h.strip() for h in env_str("ASSAY_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS: list[str] = [o.strip() for o in env_str("ASSAY_CSRF_TRUSTED_ORIGINS").split(",") if o.strip()]

DATABASE_URL = env_str("ASSAY_DATABASE_URL", f"sqlite:///{DATA_DIR / 'assay.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a run writes; IMMEDIATE avoids lock upgrades mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Linkage policy: "declared" (only identifiers the member gave us) or "probabilistic"
# (Splink over names, places and handles; only where the organisation's DPIA allows it).
LINKAGE_POLICY = env_str("ASSAY_LINKAGE_POLICY", "declared")
# The recorded purpose linkage runs under; probabilistic linking needs it approved, covering
# probabilistic matching and carrying a DPIA reference (oversight/purposes.py).
LINKAGE_PURPOSE = env_str("ASSAY_LINKAGE_PURPOSE", "Conduct review under the published rulebook")
# Proposals below this match probability are not shown to reviewers; choose it from `assay linkage evaluate`.
LINKAGE_THRESHOLD = float(env_str("ASSAY_LINKAGE_THRESHOLD", "0.8"))
# "duckdb" (default, in-process) or "spark" (needs the spark extra) for the Splink model.
LINKAGE_BACKEND = env_str("ASSAY_LINKAGE_BACKEND", "duckdb")
# Rule matching: "auto" (Hyperscan if installed, else pyahocorasick), "hyperscan" or "ahocorasick".
MATCHER_ENGINE = env_str("ASSAY_MATCHER_ENGINE", "auto")
# Processes `assay run-rules` matches with (0: every core).
RULE_WORKERS = env_int("ASSAY_RULE_WORKERS", 0)
# Days a case has before it is overdue, by severity (1 = most severe).
CASE_DEADLINE_DAYS = {1: 3, 2: 7, 3: 14}
# Oversight figures: a count of people below this shows as "fewer than N" (check oversight.E001: at least 1).
OVERSIGHT_MIN_CELL = env_int("ASSAY_OVERSIGHT_MIN_CELL", 5)

# Retention (`assay retention`), in days; see README "Retention". Holds (open cases, appeal windows) override them.
RETENTION_UNMATCHED_POST_DAYS = env_int("ASSAY_RETENTION_UNMATCHED_POST_DAYS", 90)
RETENTION_DELETED_POST_DAYS = env_int("ASSAY_RETENTION_DELETED_POST_DAYS", 30)
RETENTION_QUARANTINE_DAYS = env_int("ASSAY_RETENTION_QUARANTINE_DAYS", 90)
RETENTION_NO_BREACH_CASE_DAYS = env_int("ASSAY_RETENTION_NO_BREACH_CASE_DAYS", 365)
RETENTION_ADVERSE_CASE_DAYS = env_int("ASSAY_RETENTION_ADVERSE_CASE_DAYS", 6 * 365)
RETENTION_APPEAL_WINDOW_DAYS = env_int("ASSAY_RETENTION_APPEAL_WINDOW_DAYS", 28)
RETENTION_OUTBOX_DAYS = env_int("ASSAY_RETENTION_OUTBOX_DAYS", 30)  # sent emails in EMAIL_FILE_PATH
RETENTION_LAPSED_MEMBER_DAYS = env_int("ASSAY_RETENTION_LAPSED_MEMBER_DAYS", 2 * 365)  # from lapsing

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_tasks",
    "django_tasks_db",
    "oversight",
    "evidence",
    "register",
    "criteria",
    "linkage",
    "review",
    "demo",
]

# Background jobs (collection on schedules, "collect now"): django-tasks on the database, run by `assay worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "oversight.middleware.SessionOTPMiddleware",  # django-otp's OTPMiddleware, no query per request
    "oversight.middleware.RequireSecondFactor",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend whose sessions also check the person's sign-in key: a 2FA reset ends them in any session store.
    "oversight.signin.StaffBackend",
]
AXES_FAILURE_LIMIT = env_int("ASSAY_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

ROOT_URLCONF = "assay.urls"
WSGI_APPLICATION = "assay.wsgi.application"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"  # oversight.views.land: each role's own start page
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "assay" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "assay" / "static"]
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("ASSAY_SESSION_SECONDS", 8 * 3600)
SESSION_COOKIE_SECURE = env_bool("ASSAY_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A member's notice link carries its secret in the path: no log line shows it (oversight/redact.py).
    "filters": {"redact_secrets": {"()": "oversight.redact.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env_str("ASSAY_LOG_LEVEL", "WARNING")},
    "loggers": {
        # Splink warns about situations linkage/model.py handles (e.g. a prior of 0 from sparse data).
        "splink": {"level": env_str("ASSAY_SPLINK_LOG_LEVEL", "ERROR")},
        # Refused requests are logged with their path (a CSRF failure also with its Referer): redact at the source.
        "django.request": {"filters": ["redact_secrets"]},
        "django.security.csrf": {"filters": ["redact_secrets"]},
    },
}

# Notices to members and appeals (review app).
# Days a member has to appeal once the notice reaches them (emailed, or marked posted).
APPEAL_DAYS = env_int("ASSAY_APPEAL_DAYS", 21)
# How else to appeal, printed on every notice (an address, a phone number); the notice page's form always works.
APPEAL_CONTACT = env_str("ASSAY_APPEAL_CONTACT")
# Days a lead has to decide an appeal once received (its due date in the appeals queue).
APPEAL_DECISION_DAYS = env_int("ASSAY_APPEAL_DECISION_DAYS", 28)
# Days a member's notice link works; operators can reissue one (the old link then stops working).
NOTICE_LINK_DAYS = env_int("ASSAY_NOTICE_LINK_DAYS", 60)
# Share (0 to 1) of decisions finding no breach that a lead who took no part takes a second look at; 0: none.
SECOND_LOOK_SHARE = env_float("ASSAY_SECOND_LOOK_SHARE", 0.05)
if not 0.0 <= SECOND_LOOK_SHARE <= 1.0:
    raise ValueError(f"ASSAY_SECOND_LOOK_SHARE={SECOND_LOOK_SHARE}: expected a share from 0 to 1 (0.05 is 5%)")
# The address members reach this server at, for the links in notices.
PUBLIC_URL = env_str("ASSAY_PUBLIC_URL") or "http://127.0.0.1:8000"
if not PUBLIC_URL.startswith(("http://", "https://")):
    raise ValueError(f"ASSAY_PUBLIC_URL={PUBLIC_URL!r}: expected an http:// or https:// address")
for _name, _days in [
    ("ASSAY_APPEAL_DAYS", APPEAL_DAYS),
    ("ASSAY_APPEAL_DECISION_DAYS", APPEAL_DECISION_DAYS),
    ("ASSAY_NOTICE_LINK_DAYS", NOTICE_LINK_DAYS),
]:
    if _days < 1:
        raise ValueError(f"{_name}={_days}: expected at least 1 day")

# Email (notices, appeal results): file (default: one file per message in ASSAY_EMAIL_FILE_PATH),
# console, or smtp (ASSAY_EMAIL_HOST and friends). Tests use Django's locmem outbox.
_EMAIL_BACKENDS = {
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
_email_backend = env_str("ASSAY_EMAIL_BACKEND") or "file"
if _email_backend not in _EMAIL_BACKENDS:
    raise ValueError(f"ASSAY_EMAIL_BACKEND={_email_backend!r}: expected one of {', '.join(_EMAIL_BACKENDS)}")
EMAIL_BACKEND = _EMAIL_BACKENDS[_email_backend]
EMAIL_FILE_PATH = env_str("ASSAY_EMAIL_FILE_PATH") or str(DATA_DIR / "outbox")
EMAIL_HOST = env_str("ASSAY_EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("ASSAY_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("ASSAY_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("ASSAY_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("ASSAY_EMAIL_USE_TLS")
EMAIL_TIMEOUT = env_int("ASSAY_EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("ASSAY_EMAIL_FROM") or "assay@localhost"

# Two-factor sign-in (django-otp): every signed-in page needs a verified TOTP device or recovery code.
# ASSAY_REQUIRE_2FA=0 turns the requirement off (a demo on a box with no authenticator app).
ASSAY_REQUIRE_2FA = env_bool("ASSAY_REQUIRE_2FA", True)
OTP_TOTP_ISSUER = "assay"
