"""Seeded synthetic registers and social accounts for linkage tests and the benchmark (no downloads).

The data has what real registers and profiles have: a few very common names and a long tail,
nicknames, typos, handles built from names and numbers, relatives who share a surname and a town,
accounts that say almost nothing, and many missing fields. ``truth`` maps each account that belongs
to a member to that member.

How common each name is follows published figures (``names="gb"``, the default): family names by
rank as in Great Britain's 1998 electoral register (the UCL surname profiler's frequencies per
million, interpolated), given names as a pooled estimate from the ONS's England and Wales birth
registrations. The first ranks are real names (nicknames apply to them), the rest are synthetic
names from syllables. ``names="flat"`` is the first generator's distribution (100 common family
names and 6,400 tail names of equal weight, 120 given names), kept to reproduce earlier figures;
docs/linkage.md compares the two.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from itertools import accumulate
from typing import Literal

from linkage.model import AccountRecord, MemberRecord
from linkage.names import NICKNAME_GROUPS

GIVEN_NAMES = (
    "john", "david", "michael", "james", "robert", "william", "richard", "thomas", "peter", "paul",
    "mark", "andrew", "stephen", "christopher", "daniel", "matthew", "anthony", "joseph", "edward", "george",
    "mary", "margaret", "elizabeth", "sarah", "susan", "patricia", "jennifer", "catherine", "helen", "emma",
    "rebecca", "victoria", "charlotte", "deborah", "amanda", "caroline", "alexandra", "samantha", "isabel", "abigail",
    "kenneth", "ronald", "donald", "henry", "frederick", "lawrence", "philip", "timothy", "nicholas", "benjamin",
    "oliver", "harry", "jack", "charles", "samuel", "alexander", "gregory", "raymond", "stuart", "terence",
    "dorothy", "eleanor", "frances", "judith", "barbara", "jacqueline", "josephine", "laura", "rachel", "hannah",
    "sophie", "lucy", "amy", "claire", "julie", "karen", "nicola", "joanne", "lisa", "louise",
    "aisha", "fatima", "mohammed", "ahmed", "priya", "rajesh", "sanjay", "anil", "wei", "chen",
    "olumide", "chidi", "ngozi", "kwame", "siobhan", "niamh", "ciaran", "eilidh", "rhys", "gareth",
    "zofia", "piotr", "katarzyna", "tomasz", "giulia", "marco", "ines", "joao", "yusuf", "leyla",
)  # fmt: skip
COMMON_FAMILY = (
    "smith", "jones", "williams", "taylor", "brown", "davies", "evans", "wilson", "thomas", "johnson",
    "roberts", "robinson", "thompson", "wright", "walker", "white", "edwards", "hughes", "green", "hall",
    "lewis", "harris", "clarke", "patel", "jackson", "wood", "turner", "martin", "cooper", "hill",
    "ward", "morris", "moore", "clark", "lee", "king", "baker", "harrison", "morgan", "allen",
    "james", "scott", "phillips", "watson", "davis", "parker", "price", "bennett", "young", "griffiths",
    "mitchell", "kelly", "cook", "carter", "richardson", "bailey", "collins", "bell", "shaw", "murphy",
    "miller", "cox", "richards", "khan", "marshall", "anderson", "simpson", "ellis", "adams", "singh",
    "begum", "wilkinson", "foster", "chapman", "powell", "webb", "rogers", "gray", "mason", "ali",
    "hunt", "hussain", "campbell", "matthews", "owen", "palmer", "holmes", "mills", "barnes", "knight",
    "oneill", "macdonald", "obrien", "nowak", "kowalski", "okafor", "mensah", "chen", "wang", "rossi",
)  # fmt: skip
_SYLLABLES = (
    "ash", "ber", "cal", "dun", "el", "far", "gil", "har", "ing", "kel", "lin", "mor", "nor", "os", "pen",
    "quin", "ros", "sal", "tor", "ul", "ven", "wick", "yar", "zel", "brook", "croft", "dale", "ford", "gate",
    "ham", "ley", "mere", "ridge", "stead", "thorn", "ton", "well", "worth", "by", "combe",
)  # fmt: skip
_GIVEN_SYLLABLES = (
    "al", "an", "ar", "bel", "ca", "da", "del", "el", "em", "fa", "fe", "ga", "ha", "il", "is", "ja", "jo",
    "ka", "ke", "la", "le", "li", "lo", "ma", "mi", "na", "ni", "no", "ra", "re", "ri", "ro", "sa", "se",
    "si", "ta", "te", "ti", "va", "ya", "za", "zo",
)  # fmt: skip
_GIVEN_ENDINGS = ("a", "o", "e", "i", "in", "on", "el", "ia", "ra", "an", "ie", "us")
_FAMILY_ENDINGS = ("", "s", "er", "an", "son", "ey")

# How common the family name of each rank is, per million people: Great Britain's 1998 electoral
# register as the UCL Great Britain Family Names Profiler reports it (e.g. Robinson 15th, 3,523
# per million; York 1,318th, 146; Came 16,554th, 5; Smith about 9,000). Between anchors the
# frequency is interpolated on log-log axes; beyond the last it falls on at the last segment's
# slope to rank 394,000 (Britain has about half a million surnames, ~42% of them borne by one
# person). So the top 100 names cover ~22% of people, the top 1,000 ~54%, and ~9% bear a name
# rarer than 5 per million.
GB_FAMILY_ANCHORS = (
    (1, 9000.0), (15, 3523.0), (49, 2082.0), (93, 1294.0), (128, 942.0), (390, 420.0), (563, 288.0),
    (788, 206.0), (1318, 146.0), (1942, 86.0), (2534, 63.0), (3472, 42.0), (4605, 30.0), (5799, 22.0),
    (11886, 9.0), (16554, 5.0),
)  # fmt: skip
_GB_FAMILY_RANKS = 394_000
# Given names, pooled over the birth years of a register's adults and both sexes. One year's
# births in England and Wales (ONS, 2008): the top name 1.5-2.2%, the top ten 13-16%, the top
# hundred 47-58%, 27,000-34,000 different names. Pooling decades whose favourites differ spreads
# the head: here the top ten cover ~11%, the top hundred ~45%, the top thousand ~83%.
GB_GIVEN_ANCHORS = (
    (1, 16000.0), (10, 9000.0), (30, 5500.0), (120, 1700.0), (400, 420.0), (1000, 110.0), (4000, 12.0),
    (20000, 1.2), (60000, 0.25),
)  # fmt: skip
_GB_GIVEN_RANKS = 60_000


def _interpolated(anchors: tuple[tuple[int, float], ...], ranks: int) -> list[float]:
    """Frequency of each rank 1..``ranks``, log-log interpolated, the last slope carried on."""
    out = []
    segments = list(itertools.pairwise(anchors))
    k = 0
    for r in range(1, ranks + 1):
        while k < len(segments) - 1 and r > segments[k][1][0]:
            k += 1
        (r0, f0), (r1, f1) = segments[k]
        slope = math.log(f1 / f0) / math.log(r1 / r0)
        out.append(f0 * (r / r0) ** slope)
    return out


def _made_up_names(
    syllables: tuple[str, ...], endings: tuple[str, ...], avoid: tuple[str, ...], limit: int
) -> list[str]:
    """``limit`` distinct made-up names: two syllables and an ending, then three syllables and one.

    Each group is drawn in an order shuffled with a fixed seed, so names of neighbouring ranks are
    not spelt alike; the shorter come first, as common real names are short.
    """
    seen = set(avoid)
    out: list[str] = []
    for size in (2, 3):
        radices = (*([len(syllables)] * size), len(endings))
        combinations = math.prod(radices)
        for index in random.Random(size).sample(range(combinations), min(combinations, limit - len(out))):
            parts = []
            for radix in reversed(radices):
                index, digit = divmod(index, radix)
                parts.append(digit)
            *syllable_digits, ending = reversed(parts)
            name = "".join(syllables[d] for d in syllable_digits) + endings[ending]
            if name not in seen:
                seen.add(name)
                out.append(name)
    return out


@dataclass(frozen=True)
class NameFrequencies:
    """Names by rank with cumulative weights: real names first, made-up ones after them."""

    names: tuple[str, ...]
    cum_weights: list[float]

    @classmethod
    def build(cls, head: tuple[str, ...], tail: list[str], anchors: tuple[tuple[int, float], ...]) -> NameFrequencies:
        names = head + tuple(tail)
        return cls(names, list(accumulate(_interpolated(anchors, len(names)))))

    def draw(self, rng: random.Random) -> str:
        return rng.choices(self.names, cum_weights=self.cum_weights)[0]

    def share(self, ranks: int) -> float:
        """The share of people whose name is among the first ``ranks``."""
        return self.cum_weights[ranks - 1] / self.cum_weights[-1]


@cache
def gb_family_names() -> NameFrequencies:
    """Family names as common as in Great Britain (``GB_FAMILY_ANCHORS``)."""
    tail = _made_up_names(_SYLLABLES, _FAMILY_ENDINGS, COMMON_FAMILY + GIVEN_NAMES, _GB_FAMILY_RANKS)
    return NameFrequencies.build(COMMON_FAMILY, tail, GB_FAMILY_ANCHORS)


@cache
def gb_given_names() -> NameFrequencies:
    """Given names as common as in England and Wales (``GB_GIVEN_ANCHORS``)."""
    tail = _made_up_names(_GIVEN_SYLLABLES, _GIVEN_ENDINGS, GIVEN_NAMES + COMMON_FAMILY, _GB_GIVEN_RANKS)
    return NameFrequencies.build(GIVEN_NAMES, tail, GB_GIVEN_ANCHORS)


_TOWN_STEMS = (
    "leeds", "bristol", "york", "bath", "derby", "hull", "leicester", "norwich", "exeter", "durham",
    "preston", "bolton", "wigan", "stockport", "salford", "reading", "luton", "swindon", "oxford", "cambridge",
    "ipswich", "colchester", "chester", "lancaster", "carlisle", "hereford", "worcester", "gloucester", "truro",
    "plymouth",
)  # fmt: skip
_WORDS = ("gamer", "cat", "fox", "blue", "red", "moon", "star", "north", "pixel", "coffee", "rover", "tiger", "ghost")
_JOBS = ("nurse", "teacher", "engineer", "retired", "student", "dad of 2", "mum", "gardener", "cyclist", "writer")
_EMOJI = ("🌹", "🔶", "🌍", "✊", "🏳️‍🌈", "⚽", "🎸")
_NICKS = {group[0]: group[1:] for group in NICKNAME_GROUPS}
NameModel = Literal["gb", "flat"]
ProfileName = Literal["sparse", "full"]


@dataclass(frozen=True)
class AccountProfile:
    """How forthcoming accounts are: the chance of each field and the shares of its forms.

    ``sparse`` (the default) is the generator's own model, drawn from what surveys report of public
    profiles (docs/linkage.md, "How sparse are real profiles?"). ``full`` is the other end: every
    account shows its owner's real name in full (no nickname, no typo) and their postcode district,
    as if everyone filled in every profile field truthfully. It bounds what any model can reach from
    profiles and is never the benchmark's default. Both make the same draws in the same order, so a
    seed gives the same people and the same handles.
    """

    display_name: float = 0.85  # has a display name
    nickname: float = 0.3  # its given name is a nickname, where one exists
    typo: float = 0.08  # a typo in its given or family name
    display_forms: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9, 0.94)  # cut points: full, "G F.", "G. F", G, "F, G"
    bio: float = 0.4
    location: float = 0.5
    elsewhere: float = 0.1  # the location is another town (moved away, a joke)
    location_forms: tuple[float, float] = (0.6, 0.8)  # cut points: town, "town, UK"; else the district


PROFILES: dict[str, AccountProfile] = {
    "sparse": AccountProfile(),
    "full": AccountProfile(
        display_name=1.0,
        nickname=0.0,
        typo=0.0,
        display_forms=(1.0, 1.0, 1.0, 1.0, 1.0),
        bio=0.5,
        location=1.0,
        elsewhere=0.0,
        location_forms=(0.0, 0.0),
    ),
}


@dataclass
class _Person:
    given: str
    family: str
    dob: date
    town: str
    district: str
    postcode: str


@dataclass
class Dataset:
    """Members, accounts and the true account → member links."""

    members: list[MemberRecord]
    accounts: list[AccountRecord]
    truth: dict[int, int] = field(default_factory=dict)


class Generator:
    """Makes people, their register entries and their social accounts from one seed."""

    def __init__(self, seed: int = 5, names: NameModel = "gb", profile: ProfileName = "sparse") -> None:
        if names not in ("gb", "flat"):
            raise ValueError(f"unknown name model {names!r}: choose 'gb' or 'flat'")
        if profile not in PROFILES:
            raise ValueError(f"unknown account profile {profile!r}: choose 'sparse' or 'full'")
        self.profile = PROFILES[profile]
        self.rng = random.Random(seed)
        rng = self.rng
        self.family_names = gb_family_names() if names == "gb" else None
        self.given_names = gb_given_names() if names == "gb" else None
        tail = sorted({a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in ("", "s", "er", "an")})
        self.family_pool = list(COMMON_FAMILY) + tail
        # Common surnames cover about a third of people; the long tail the rest.
        self.family_weights = [60.0 / (i + 4) for i in range(len(COMMON_FAMILY))] + [0.9 / 8] * len(tail)
        self.given_weights = [30.0 / (i + 6) for i in range(len(GIVEN_NAMES))]
        self.towns = [f"{stem}{suffix}" for stem in _TOWN_STEMS for suffix in ("", " north", "ford", "bury")]
        areas = [chr(65 + i) + chr(65 + j) for i in range(26) for j in range(26)]
        rng.shuffle(areas)
        self.area_of = {town: areas[i] for i, town in enumerate(self.towns)}
        self.town_weights = list(accumulate(1.0 / (i + 3) for i in range(len(self.towns))))
        self.family_weights = list(accumulate(self.family_weights))
        self.given_weights = list(accumulate(self.given_weights))

    def person(self) -> _Person:
        rng = self.rng
        town = rng.choices(self.towns, cum_weights=self.town_weights)[0]
        district = f"{self.area_of[town]}{rng.randint(1, 20)}"
        postcode = (
            f"{district} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXY')}{rng.choice('ABDEFGHJLNPQRSTUWXY')}"
        )
        dob = date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 66))
        if self.given_names is not None and self.family_names is not None:
            given, family = self.given_names.draw(rng), self.family_names.draw(rng)
        else:
            given = rng.choices(GIVEN_NAMES, cum_weights=self.given_weights)[0]
            family = rng.choices(self.family_pool, cum_weights=self.family_weights)[0]
        return _Person(given, family, dob, town, district, postcode)

    def relative(self, of: _Person) -> _Person:
        """Someone in the same household: same surname, town and postcode, another name and age."""
        other = self.person()
        return _Person(other.given, of.family, other.dob, of.town, of.district, of.postcode)

    def typo(self, word: str) -> str:
        rng = self.rng
        if len(word) < 4:
            return word
        i = rng.randint(1, len(word) - 2)
        kind = rng.random()
        if kind < 0.35:
            return word[:i] + word[i + 1 :]
        if kind < 0.7:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        return word[:i] + rng.choice("aeiourstln") + word[i + 1 :]

    def member(self, member_id: int, p: _Person) -> MemberRecord:
        rng = self.rng
        given, family = p.given, p.family
        if rng.random() < 0.02:
            family = self.typo(family)
        email = ""
        if rng.random() < 0.65:
            local = rng.choice(
                [
                    f"{given}.{family}",
                    f"{given[0]}{family}",
                    f"{given}{family}{p.dob.year % 100:02d}",
                    f"{given}{rng.randint(1, 999)}",
                    rng.choice(_WORDS) + str(rng.randint(1, 99)),
                ]
            )
            email = f"{local}@{rng.choice(('example.org', 'mail.example', 'post.example'))}"
        if rng.random() < 0.01:
            email = email.replace("@", " at ")  # malformed, as registers have
        postcode = p.postcode if rng.random() < 0.85 else ""
        if postcode and rng.random() < 0.02:
            postcode = rng.choice(("N/A", "unknown", p.postcode[:2]))
        return MemberRecord(
            member_id=member_id,
            given_name=given.title(),
            family_name=family.title() if not family.startswith("o") else family.capitalize(),
            email=email,
            date_of_birth=p.dob if rng.random() < 0.9 else None,
            town=p.town.title() if rng.random() < 0.85 else "",
            postcode=postcode,
        )

    def account(self, account_id: int, p: _Person, email: str = "") -> AccountRecord:
        rng = self.rng
        return AccountRecord(
            account_id=account_id,
            platform=rng.choice(("x", "bluesky", "mastodon", "facebook")),
            handle=self._handle(p, email),
            display_name=self._display_name(p) if rng.random() < self.profile.display_name else "",
            bio=self._bio(p) if rng.random() < self.profile.bio else "",
            location=self._location(p) if rng.random() < self.profile.location else "",
        )

    def _given_or_nick(self, p: _Person, chance: float) -> str:
        nicks = _NICKS.get(p.given)
        return self.rng.choice(nicks) if nicks and self.rng.random() < chance else p.given

    def _display_name(self, p: _Person) -> str:
        rng = self.rng
        given = self._given_or_nick(p, self.profile.nickname)
        family = p.family
        if rng.random() < self.profile.typo:
            if rng.random() < 0.5:
                given = self.typo(given)
            else:
                family = self.typo(family)
        g, f = given.title(), family.title()
        form = rng.random()
        full, given_initial_family, initial_family, given_only, family_given = self.profile.display_forms
        if form < full:
            text = f"{g} {f}"
        elif form < given_initial_family:
            text = f"{g} {f[0]}."
        elif form < initial_family:
            text = f"{g[0]}. {f}"
        elif form < given_only:
            text = g
        elif form < family_given:
            text = f"{f.upper()}, {g}"
        else:
            text = f"{g} {f} | {p.town.title()}"
        if rng.random() < 0.1:
            text = f"{text} {rng.choice(_EMOJI)}"
        return text

    def _handle(self, p: _Person, email: str) -> str:
        rng = self.rng
        if email and "@" in email and rng.random() < 0.25:
            return email.split("@", 1)[0].replace(".", "_")
        given = self._given_or_nick(p, 0.2)
        form = rng.random()
        if form < 0.15:
            base = rng.choice(_WORDS) + rng.choice(_WORDS)
        elif form < 0.4:
            base = f"{given}{p.family}"
        elif form < 0.6:
            base = f"{given[0]}{p.family}"
        elif form < 0.75:
            base = f"{given}{rng.choice('._')}{p.family}"
        elif form < 0.85:
            base = f"{p.family}{given}"
        else:
            base = f"{given}{rng.choice(_WORDS)}"
        digits = rng.random()
        if digits < 0.4:
            base += f"{rng.choice(('', '_'))}{p.dob.year % 100:02d}"
        elif digits < 0.5:
            base += str(p.dob.year)
        elif digits < 0.75:
            base += str(rng.randint(1, 999))
        return base

    def _bio(self, p: _Person) -> str:
        rng = self.rng
        bits = [rng.choice(_JOBS)]
        if rng.random() < 0.5:
            bits.append(f"{rng.choice(('from', 'in', 'based in'))} {p.town.title()}")
        if rng.random() < 0.15:
            bits.append(f"b. {p.dob.year}")
        if rng.random() < 0.3:
            bits.append(rng.choice(("views my own", "trade unionist", "parkrun", "football", "books")))
        return " | ".join(bits)

    def _location(self, p: _Person) -> str:
        rng = self.rng
        if rng.random() < self.profile.elsewhere:
            return rng.choice(self.towns).title()  # moved away or a joke location
        form = rng.random()
        town, town_uk = self.profile.location_forms
        if form < town:
            return p.town.title()
        if form < town_uk:
            return f"{p.town.title()}, UK"
        return p.district


def generate(
    n_members: int,
    n_accounts: int,
    *,
    linked_share: float = 0.3,
    seed: int = 5,
    names: NameModel = "gb",
    profile: ProfileName = "sparse",
) -> Dataset:
    """A register of ``n_members`` and ``n_accounts`` accounts, ``linked_share`` of them members'."""
    gen = Generator(seed, names, profile)
    rng = gen.rng
    people = [gen.person() for _ in range(n_members)]
    members = [gen.member(i + 1, p) for i, p in enumerate(people)]
    accounts: list[AccountRecord] = []
    truth: dict[int, int] = {}
    n_linked = round(n_accounts * linked_share)
    owners = rng.sample(range(n_members), min(n_linked, n_members)) if n_members else []
    for k in range(n_accounts):
        account_id = 10_000_000 + k + 1
        if k < len(owners):
            i = owners[k]
            accounts.append(gen.account(account_id, people[i], members[i].email))
            truth[account_id] = members[i].member_id
        elif n_members and rng.random() < 0.1:
            accounts.append(gen.account(account_id, gen.relative(rng.choice(people))))
        else:
            accounts.append(gen.account(account_id, gen.person()))
    order = list(range(n_accounts))
    rng.shuffle(order)
    return Dataset(members, [accounts[i] for i in order], truth)
