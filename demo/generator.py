"""A fictional organisation for `assay demo`: register, rulebook, accounts and posts.

Pure Python and deterministic: the same seed writes byte-identical files, so a second demo
run imports nothing new. The truth is written too (``linkage-labels.csv``: which account is
whose), for `assay linkage evaluate`. Everything here is invented (Faker en_GB names; towns are real places,
handles and posts are not). A few records are malformed on purpose, to show quarantine.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from faker import Faker

SEED = 2016
BASE_TIME = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
DEMO_DAYS = 30

TOWNS: tuple[tuple[str, str], ...] = (
    ("Leeds", "LS"),
    ("Bristol", "BS"),
    ("Manchester", "M"),
    ("Cardiff", "CF"),
    ("Glasgow", "G"),
    ("Norwich", "NR"),
    ("Sheffield", "S"),
    ("Newcastle", "NE"),
    ("Brighton", "BN"),
    ("Exeter", "EX"),
    ("York", "YO"),
    ("Swansea", "SA"),
    ("Leicester", "LE"),
    ("Hull", "HU"),
    ("Aberdeen", "AB"),
    ("Derby", "DE"),
    ("Oxford", "OX"),
    ("Bath", "BA"),
    ("Preston", "PR"),
    ("Stoke", "ST"),
)

NICKNAMES = {
    "William": "Bill",
    "Robert": "Bob",
    "Margaret": "Peggy",
    "Elizabeth": "Liz",
    "James": "Jim",
    "Richard": "Dick",
    "Katherine": "Kate",
    "Thomas": "Tom",
    "Michael": "Mike",
    "Christopher": "Chris",
    "Jennifer": "Jen",
    "Stephen": "Steve",
    "Rebecca": "Becky",
    "Daniel": "Dan",
    "Samuel": "Sam",
}

# The rulebook: each rule cites its clause. Queries use keywords and "exact phrases".
RULEBOOK: tuple[dict[str, Any], ...] = (
    {
        "code": "ABUSE-1",
        "title": "Abusive language about members or opponents",
        "severity": 2,
        "clause": "2.1 Members must not abuse other members, opponents or the public.",
        "query": 'scum OR vermin OR "pathetic losers" OR "utter parasites"',
    },
    {
        "code": "HARASS-1",
        "title": "Targeted harassment",
        "severity": 2,
        "clause": "2.2 Members must not harass or incite others to harass any person.",
        "query": '"pile on" OR "keep messaging you" OR "won\'t leave you alone" OR "flood her mentions"',
    },
    {
        "code": "HATE-1",
        "title": "Hateful statements about protected groups",
        "severity": 1,
        "clause": "2.3 Members must not express hatred on grounds of race, religion, sex, sexuality or disability.",
        "query": '"send them home" OR "go back to where you came from" OR "not welcome in this country"',
    },
    {
        "code": "THREAT-1",
        "title": "Threats of harm",
        "severity": 1,
        "clause": "2.4 Members must not threaten violence or harm against any person.",
        "query": '"you\'ll pay for this" OR "I know where you live" OR "watch your back"',
    },
    {
        "code": "RIVAL-1",
        "title": "Publicly backing a rival candidate",
        "severity": 3,
        "clause": "4.1 Members must not publicly support a candidate standing against the organisation's candidate.",
        "query": 'VoteRival OR "vote for the independent" OR "backing the independent"',
    },
)

_BREACHES: dict[str, tuple[str, ...]] = {
    "ABUSE-1": (
        "The lot running {town} council are scum, every one of them.",
        "Honestly the committee are pathetic losers and everyone knows it",
        "Opposition councillors are utter parasites living off {town}",
        "Vermin. That's what they are. Vermin.",
    ),
    "HARASS-1": (
        "Time for a pile on, she deserves it after that speech",
        "I'll keep messaging you until you resign from the branch",
        "Everyone flood her mentions until she quits the {town} selection",
        "I won't leave you alone until you apologise",
    ),
    "HATE-1": (
        "Close the borders and send them home, simple as that",
        "If you don't like it here go back to where you came from",
        "Some people are just not welcome in this country, sorry not sorry",
    ),
    "THREAT-1": (
        "You'll pay for this at the next branch meeting, mark my words",
        "I know where you live and I know what you did",
        "Watch your back in {town}, councillor",
    ),
    "RIVAL-1": (
        "I'm backing the independent in {town} this time #VoteRival",
        "Sorry but I'll vote for the independent, our candidate is hopeless",
        "#VoteRival in the {town} by-election, she's the real deal",
    ),
}

_BENIGN: tuple[str, ...] = (
    "Great turnout at the {town} branch meeting tonight, thanks all!",
    "Canvassing in {town} on Saturday morning, who's coming along?",
    "Potholes on the high street again. Writing to the council today.",
    "Lovely to see so many new members at the {town} social.",
    "Reading the consultation on bus routes; responses close Friday.",
    "Our candidate was brilliant on local radio this morning.",
    "Litter pick by the river in {town} this Sunday, gloves provided.",
    "Does anyone know when the next policy forum is?",
    "The library in {town} needs our support, sign the petition.",
    "Knocked on 60 doors today, mostly friendly, one very angry dog.",
    "That debate was a bit of a scrum but good points made on housing.",
    "Vermont maple syrup on pancakes, the only way to start a Sunday.",
)

_PLATFORM_WEIGHTS = (("x", 5), ("bluesky", 3), ("mastodon", 2))


@dataclass(frozen=True)
class DemoFiles:
    register_csv: Path
    posts_ndjson: Path
    labels_csv: Path
    members: int
    accounts: int
    posts: int
    breaches: int


@dataclass
class _Person:
    given: str
    family: str
    town: str
    postcode: str
    dob: date


@dataclass
class _Account:
    platform: str
    platform_id: str
    handle: str
    name: str
    bio: str
    location: str
    member_index: int | None
    declared: bool


def _postcode(rng: random.Random, area: str) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"{area}{rng.randint(1, 20)} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"


def _people(fake: Faker, rng: random.Random, count: int) -> list[_Person]:
    people = []
    for _ in range(count):
        town, area = rng.choice(TOWNS)
        given = rng.choice(list(NICKNAMES)) if rng.random() < 0.15 else fake.first_name()
        people.append(
            _Person(
                given=given,
                family=fake.last_name(),
                town=town,
                postcode=_postcode(rng, area),
                dob=date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 65)),
            )
        )
    return people


def _handle(rng: random.Random, person: _Person, taken: set[str]) -> str:
    given = NICKNAMES.get(person.given, person.given) if rng.random() < 0.3 else person.given
    stems = (
        f"{given[0]}{person.family}",
        f"{given}_{person.family}",
        f"{given}{person.family[0]}",
        f"{person.family}{given[0]}",
    )
    stem = "".join(ch for ch in rng.choice(stems).lower() if ch.isalnum() or ch == "_")
    while True:
        handle = f"{stem}{rng.choice(['', str(person.dob.year % 100), str(rng.randint(1, 999))])}"
        if handle not in taken:
            taken.add(handle)
            return handle


def _platform_handle(platform: str, handle: str) -> str:
    if platform == "bluesky":
        return f"{handle}.bsky.social"
    if platform == "mastodon":
        return f"{handle}@mastodon.example"
    return handle


def _platform_id(platform: str, rng: random.Random, handle: str) -> str:
    if platform == "x":
        return str(rng.randint(10**15, 10**18))
    if platform == "bluesky":
        return "did:plc:" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(24))
    user, _, host = handle.partition("@")
    return f"https://{host}/users/{user}"


def _accounts(
    rng: random.Random, fake: Faker, members: list[_Person], total: int, declared: int, findable: int
) -> list[_Account]:
    taken: set[str] = set()
    platforms = [p for p, w in _PLATFORM_WEIGHTS for _ in range(w)]
    chosen = rng.sample(range(len(members)), declared + findable)
    accounts: list[_Account] = []
    for n, member_index in enumerate(chosen):
        person = members[member_index]
        platform = rng.choice(platforms)
        handle = _platform_handle(platform, _handle(rng, person, taken))
        shown = NICKNAMES.get(person.given, person.given) if rng.random() < 0.25 else person.given
        accounts.append(
            _Account(
                platform=platform,
                platform_id=_platform_id(platform, rng, handle),
                handle=handle,
                name=f"{shown} {person.family}",
                bio=rng.choice(["", f"{person.town} born and bred.", "Opinions my own.", "Dad, runner, tea."]),
                location=person.town if rng.random() < 0.7 else "",
                member_index=member_index,
                declared=n < declared,
            )
        )
    for outsider in _people(fake, rng, total - len(accounts)):
        platform = rng.choice(platforms)
        handle = _platform_handle(platform, _handle(rng, outsider, taken))
        accounts.append(
            _Account(
                platform=platform,
                platform_id=_platform_id(platform, rng, handle),
                handle=handle,
                name=f"{outsider.given} {outsider.family}",
                bio=rng.choice(["", "Politics, football, coffee.", "Here for the arguments.", fake.job()]),
                location=outsider.town if rng.random() < 0.5 else "",
                member_index=None,
                declared=False,
            )
        )
    rng.shuffle(accounts)
    return accounts


def _register_rows(members: list[_Person], accounts: list[_Account], rng: random.Random) -> Iterator[list[str]]:
    declared = {a.member_index: a for a in accounts if a.declared and a.member_index is not None}
    yield [
        "number",
        "given_name",
        "family_name",
        "email",
        "date_of_birth",
        "town",
        "postcode",
        "joined_on",
        "status",
        "x_handle",
        "bluesky_handle",
        "mastodon_handle",
    ]
    for i, person in enumerate(members):
        account = declared.get(i)
        handles = {"x": "", "bluesky": "", "mastodon": ""}
        if account is not None:
            # Members write their handles every which way; the importer normalises them.
            handles[account.platform] = rng.choice(
                [account.handle, f"@{account.handle}", account.handle.upper()]
                + ([f"https://x.com/{account.handle}"] if account.platform == "x" else [])
            )
        email = f"{person.given}.{person.family}{i % 97}@example.org".lower() if rng.random() < 0.8 else ""
        yield [
            f"M{100000 + i}",
            person.given,
            person.family,
            email,
            person.dob.isoformat(),
            person.town,
            person.postcode,
            (date(2010, 1, 1) + timedelta(days=rng.randint(0, 5800))).isoformat(),
            "active" if rng.random() < 0.93 else "lapsed",
            handles["x"],
            handles["bluesky"],
            handles["mastodon"],
        ]
    # Two malformed rows, as real registers have: they are quarantined, the rest goes on.
    yield ["M999998", "Ada", "Broken", "not-an-email", "1980-02-30", "Leeds", "LS1 1AA", "", "active", "", "", ""]
    yield ["M999999", "", "Nameless", "", "", "", "", "", "active", "", "", ""]


def _post(
    platform_id: str,
    account: _Account | None,
    text: str,
    created: datetime,
    kind: str = "post",
    parent: str = "",
    platform: str | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "platform": platform or (account.platform if account else "facebook"),
        "id": platform_id,
        "kind": kind,
        "text": text,
        "lang": "en",
        "created_at": created.isoformat().replace("+00:00", "Z"),
    }
    if parent:
        item["parent_id"] = parent
    if account is not None:
        item["author"] = {
            "id": account.platform_id,
            "handle": account.handle,
            "name": account.name,
            "bio": account.bio,
            "location": account.location,
        }
    return item


def _posts(rng: random.Random, accounts: list[_Account], total: int, breaches: int) -> Iterator[dict[str, Any]]:
    span = DEMO_DAYS * 86400
    member_accounts = [a for a in accounts if a.member_index is not None]
    breach_slots = set(rng.sample(range(total), breaches))
    codes = list(_BREACHES)
    latest: dict[str, str] = {}
    slot = max(1, span // max(1, total))
    for n in range(total):
        # In order of n, so a reply (which answers an earlier post) comes after what it answers.
        created = BASE_TIME + timedelta(seconds=n * span // max(1, total) + rng.randint(0, span) % slot)
        town = rng.choice(TOWNS)[0]
        if n in breach_slots:
            account = rng.choice(member_accounts) if rng.random() < 0.6 else rng.choice(accounts)
            text = rng.choice(_BREACHES[rng.choice(codes)]).format(town=town)
        else:
            account = rng.choice(accounts)
            text = rng.choice(_BENIGN).format(town=town)
        # Abuse comes more often in replies and quotes than in posts of one's own.
        kind = rng.choices(["post", "reply", "quote"], weights=[50, 35, 15] if n in breach_slots else [80, 15, 5])[0]
        # Replies and quotes answer the latest post on the same platform.
        parent = latest.get(account.platform, "") if kind != "post" else ""
        post_id = f"{account.platform[:2]}{n}"
        latest[account.platform] = post_id
        yield _post(post_id, account, text, created, kind if parent else "post", parent)


def _facebook_comments(rng: random.Random, count: int) -> Iterator[dict[str, Any]]:
    """Comments on a public page we do not manage: the platform withholds their authors."""
    for n in range(count):
        created = BASE_TIME + timedelta(seconds=rng.randint(0, DEMO_DAYS * 86400))
        text = rng.choice(_BREACHES["ABUSE-1"] if n % 10 == 0 else _BENIGN).format(town=rng.choice(TOWNS)[0])
        yield _post(f"fb-page_{n}", None, text, created, "comment", "fb-page_post", platform="facebook")


def scaled(scale: float) -> dict[str, int]:
    """Keyword arguments for :func:`generate` at ``scale`` times the standard organisation."""
    if not 0 < scale <= 20:
        raise ValueError(f"scale must be above 0 and at most 20, not {scale}")
    standard = {
        "members": 5000,
        "accounts": 2000,
        "posts": 50_000,
        "breaches": 400,
        "declared_accounts": 300,
        "findable_accounts": 300,
        "facebook_comments": 200,
    }
    return {key: max(10, round(value * scale)) for key, value in standard.items()}


def generate(
    out_dir: Path,
    *,
    seed: int = SEED,
    members: int = 5000,
    accounts: int = 2000,
    posts: int = 50_000,
    breaches: int = 400,
    declared_accounts: int = 300,
    findable_accounts: int = 300,
    facebook_comments: int = 200,
) -> DemoFiles:
    """Write ``register.csv`` and ``posts.ndjson`` into ``out_dir``; the same seed gives the same bytes."""
    rng = random.Random(seed)
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    people = _people(fake, rng, members)
    account_list = _accounts(rng, fake, people, accounts, declared_accounts, findable_accounts)
    out_dir.mkdir(parents=True, exist_ok=True)
    register_csv = out_dir / "register.csv"
    with register_csv.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(_register_rows(people, account_list, rng))
    posts_ndjson = out_dir / "posts.ndjson"
    with posts_ndjson.open("w", encoding="utf-8") as fh:
        for item in _posts(rng, account_list, posts - facebook_comments, breaches):
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        for item in _facebook_comments(rng, facebook_comments):
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        # Malformed lines, quarantined with their line number and reason.
        fh.write('{"platform": "x", "id": "truncated", "text": "this line was cut off\n')
        fh.write('{"platform": "x", "text": "a record without an id"}\n')
        fh.write('{"platform": "x", "id": "x-bad-date", "text": "hello", "created_at": "yesterday"}\n')
    labels_csv = out_dir / "linkage-labels.csv"
    with labels_csv.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["account", "member", "match"])
        for account in sorted(account_list, key=lambda a: (a.platform, a.platform_id)):
            if account.member_index is not None:
                writer.writerow([f"{account.platform}:{account.platform_id}", f"M{100000 + account.member_index}", 1])
    return DemoFiles(register_csv, posts_ndjson, labels_csv, members, accounts, posts, breaches)
