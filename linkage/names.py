"""Name, handle, place and date normalisation for linkage (pure Python, no Django).

Everything here turns messy profile text into the few comparable features the linkage model
uses: a canonical (nickname-normalised) given name, a family name, an initial, a year of
birth, postcode districts and towns. Functions never raise on bad input: they return ``None``
(or an empty tuple) for what they cannot read, so one malformed record never stops a run.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

# Nickname groups: every name in a group normalises to the group's first name. Diminutives
# shared by two groups (Alex, Sam, Chris, Jo) are listed once, under the group they most often
# shorten in British registers; the model weighs a nickname agreement below an exact one anyway.
NICKNAME_GROUPS: tuple[tuple[str, ...], ...] = (
    ("william", "bill", "billy", "will", "willy", "willie", "liam", "wills"),
    ("margaret", "peggy", "peg", "maggie", "meg", "megan", "madge", "marge", "margie", "greta", "rita"),
    ("robert", "bob", "bobby", "rob", "robbie", "bert", "robin"),
    ("richard", "dick", "rick", "ricky", "rich", "richie"),
    ("james", "jim", "jimmy", "jamie", "jem"),
    ("john", "jack", "johnny", "jon", "jonny"),
    ("elizabeth", "liz", "lizzie", "beth", "betty", "bess", "eliza", "libby", "lisa", "elspeth"),
    ("catherine", "katherine", "kathryn", "kate", "katie", "kath", "cathy", "kathy", "kitty", "cat"),
    ("edward", "ed", "eddie", "ted", "teddy", "ned"),
    ("thomas", "tom", "tommy"),
    ("michael", "mike", "mick", "micky", "mikey"),
    ("anthony", "tony", "ant"),
    ("alexander", "alexandra", "alex", "sandy", "xander", "lexi"),
    ("christopher", "christine", "christina", "chris", "kit", "tina"),
    ("samuel", "samantha", "sam", "sammy"),
    ("joseph", "joe", "joey"),
    ("josephine", "jo", "josie"),
    ("daniel", "dan", "danny"),
    ("david", "dave", "davey"),
    ("stephen", "steven", "steve", "stevie"),
    ("matthew", "matt", "matty"),
    ("andrew", "andy", "drew"),
    ("benjamin", "ben", "benny"),
    ("nicholas", "nick", "nicky"),
    ("jennifer", "jen", "jenny"),
    ("patricia", "pat", "patty", "trish", "tricia"),
    ("patrick", "paddy"),
    ("susan", "sue", "susie", "suzy"),
    ("deborah", "debbie", "deb", "debra"),
    ("rebecca", "becky", "becca"),
    ("victoria", "vicky", "tori"),
    ("charlotte", "charlie", "lottie"),
    ("charles", "chas", "chuck"),
    ("henry", "harry", "hal"),
    ("frederick", "fred", "freddie"),
    ("gerald", "gerry", "jerry"),
    ("lawrence", "laurence", "larry", "laurie"),
    ("peter", "pete"),
    ("philip", "phillip", "phil", "pip"),
    ("timothy", "tim", "timmy"),
    ("jonathan", "jonty"),
    ("kenneth", "ken", "kenny"),
    ("ronald", "ron", "ronnie"),
    ("donald", "don", "donnie"),
    ("dorothy", "dot", "dottie", "dolly"),
    ("mary", "molly", "polly", "mamie"),
    ("sarah", "sara", "sally", "sadie"),
    ("helen", "nell", "nellie", "ellie"),
    ("eleanor", "elinor", "nora", "norah"),
    ("abigail", "abby", "abbie", "gail"),
    ("jacqueline", "jackie", "jacqui"),
    ("frances", "fran", "fanny"),
    ("francis", "frank", "frankie"),
    ("gregory", "greg"),
    ("nathaniel", "nathan", "nat", "nate"),
    ("zachary", "zach", "zack"),
    ("theodore", "theo"),
    ("oliver", "ollie", "olly"),
    ("isabel", "isabella", "isobel", "izzy", "bella"),
    ("amanda", "mandy"),
    ("barbara", "babs", "barbie"),
    ("caroline", "carol", "carrie"),
    ("judith", "judy", "jude"),
    ("leonard", "leo", "len", "lenny"),
    ("raymond", "ray"),
    ("stuart", "stewart", "stu"),
    ("terence", "terry"),
    ("vincent", "vince", "vinny"),
)

NICKNAMES: dict[str, str] = {}
for _group in NICKNAME_GROUPS:
    for _name in _group:
        NICKNAMES.setdefault(_name, _group[0])

# A British postcode district ("LS6", "SW1A", "M1") at the start of a full or partial postcode.
_DISTRICT_RE = re.compile(r"^([A-Z]{1,2}[0-9][0-9A-Z]?)(?:\s*[0-9][A-Z]{2})?$")
_DISTRICT_IN_TEXT_RE = re.compile(r"\b([A-Z]{1,2}[0-9][0-9A-Z]?)(?:\s*[0-9][A-Z]{2})?\b")
_NOT_LETTERS_RE = re.compile(r"[^a-z]+")
_NOT_ALNUM_RE = re.compile(r"[^a-z0-9]+")
_WORD_RE = re.compile(r"[a-z]+(?:['-][a-z]+)*")
_HANDLE_SPLIT_RE = re.compile(r"[^a-z0-9]+")
_DIGITS_RE = re.compile(r"[0-9]+")
_YEAR_IN_TEXT_RE = re.compile(r"\b(?:b\.?\s?|born\s(?:in\s)?|est\.?\s?|class of\s)'?(\d{2}|\d{4})\b")
_DISPLAY_SEPARATORS_RE = re.compile(r"\s[|/(\u2022-]\s?|[|(\u2022]")
_SOUNDEX_CODES = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}
_NAME_PARTICLES = frozenset({"van", "von", "de", "der", "den", "da", "di", "le", "la", "du", "mc", "mac", "st"})
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "rev", "cllr", "mx", "lord", "lady"})
_EARLIEST_BIRTH_YEAR = 1900


def fold(text: str) -> str:
    """Lower-case ASCII: accents removed, other characters kept as they are."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


@lru_cache(maxsize=200_000)
def name_key(name: str) -> str | None:
    """A comparable form of one name: lower-case ASCII letters only (``O'Brien-Smith`` → ``obriensmith``)."""
    key = _NOT_LETTERS_RE.sub("", fold(name))
    return key or None


def canonical_given(name: str | None) -> str | None:
    """The nickname-normalised given name (``Bill`` → ``william``, ``Peggy`` → ``margaret``)."""
    if not name:
        return None
    return NICKNAMES.get(name, name)


@lru_cache(maxsize=200_000)
def phonetic(name: str | None) -> str | None:
    """American Soundex of a name key (``smith`` and ``smyth`` → ``s530``), for blocking."""
    if not name:
        return None
    first = name[0]
    digits = []
    previous = _SOUNDEX_CODES.get(first, "")
    for ch in name[1:]:
        code = _SOUNDEX_CODES.get(ch, "")
        if code and code != previous:
            digits.append(code)
        if ch not in "hw":
            previous = code
    return (first + "".join(digits) + "000")[:4]


def postcode_district(text: str | None) -> str | None:
    """The district of a full or partial British postcode (``ls6 2ab`` → ``LS6``), else ``None``."""
    if not text:
        return None
    match = _DISTRICT_RE.match(text.strip().upper())
    return match.group(1) if match else None


def districts_in_text(text: str) -> list[str]:
    """Postcode districts mentioned in free text (``Leeds LS6`` → ``[LS6]``); needs a digit after letters."""
    return [m.group(1) for m in _DISTRICT_IN_TEXT_RE.finditer(text.upper()) if not m.group(1)[-1].isalpha()]


def place_key(text: str | None) -> str | None:
    """A comparable town name: folded, letters and single spaces only."""
    if not text:
        return None
    key = " ".join(_WORD_RE.findall(fold(text)))
    return key or None


def year_of_birth(value: object) -> int | None:
    """The year from a date, an ISO-like string or a plausible year number; ``None`` if unreadable."""
    if isinstance(value, date):
        year = value.year
    elif isinstance(value, int):
        year = value
    elif isinstance(value, str):
        digits = _DIGITS_RE.findall(value)
        four = [int(d) for d in digits if len(d) == 4]
        if not four:
            return None
        year = four[0]
    else:
        return None
    return year if _EARLIEST_BIRTH_YEAR <= year <= _this_year() else None


def _this_year() -> int:
    return datetime.now(UTC).year


def year_from_digits(digits: str, *, this_year: int | None = None) -> int | None:
    """A birth year hidden in handle digits: ``84`` → 1984, ``1984`` → 1984, ``07`` → 2007; else ``None``."""
    now = this_year or _this_year()
    if len(digits) == 4:
        year = int(digits)
        return year if _EARLIEST_BIRTH_YEAR <= year <= now - 10 else None
    if len(digits) == 2:
        short = int(digits)
        year = 2000 + short if 2000 + short <= now - 10 else 1900 + short
        return year if year >= 1930 else None
    return None


def email_local(email: str | None) -> str | None:
    """The alphanumeric local part of an email (``J.Smith+x@ex.org`` → ``jsmith``); ``None`` if malformed."""
    if not email or email.count("@") != 1:
        return None
    local = email.split("@", 1)[0].split("+", 1)[0]
    key = _NOT_ALNUM_RE.sub("", fold(local))
    return key if len(key) >= 3 else None


def handle_key(handle: str | None) -> str | None:
    """The alphanumeric form of a handle (``@J_Smith84`` → ``jsmith84``), comparable to an email local part."""
    if not handle:
        return None
    bare = handle.strip().lstrip("@").split("@", 1)[0]  # Mastodon/Bluesky forms: user@server, user.bsky.social
    bare = bare.removesuffix(".bsky.social")
    key = _NOT_ALNUM_RE.sub("", fold(bare))
    return key if len(key) >= 3 else None


@dataclass(frozen=True)
class NameParts:
    """What a piece of profile text tells us about a name: any of given, family, initial, year."""

    given: str | None = None
    family: str | None = None
    initial: str | None = None
    year: int | None = None


class Vocabulary:
    """Known given and family names (from the register and the nickname table) for reading handles."""

    def __init__(self, given: Iterable[str], family: Iterable[str]) -> None:
        self.given = frozenset(g for g in given if g) | frozenset(NICKNAMES)
        self.family = frozenset(f for f in family if f and len(f) >= 2)

    def split_handle(self, handle: str | None) -> NameParts:
        """Read name tokens and a year from a handle: ``jsmith_84`` → initial j, family smith, year 1984."""
        if not handle:
            return NameParts()
        bare = fold(handle.strip().lstrip("@").split("@", 1)[0].removesuffix(".bsky.social"))
        chunks = [c for c in _HANDLE_SPLIT_RE.split(bare) if c]
        year = None
        words: list[str] = []
        for chunk in chunks:
            for piece in re.findall(r"[a-z]+|[0-9]+", chunk):
                if piece.isdigit():
                    year = year or year_from_digits(piece)
                else:
                    words.append(piece)
        parts = self._read_words(words)
        return NameParts(parts.given, parts.family, parts.initial, year)

    def _read_words(self, words: list[str]) -> NameParts:
        if len(words) >= 2:
            return self._read_separated(words)
        if len(words) == 1:
            return self._read_run(words[0])
        return NameParts()

    def _read_separated(self, words: list[str]) -> NameParts:
        first, last = words[0], words[-1]
        if len(first) == 1:
            return NameParts(None, last if last in self.family else None, first)
        if first in self.family and last in self.given and last not in self.family:
            first, last = last, first
        given = first if first in self.given else None
        family = last if last in self.family else None
        return NameParts(given, family, (given or first)[0] if given else None)

    def _read_run(self, word: str) -> NameParts:
        """Split a run of letters: ``billsmith``, ``jsmith``, ``smithbill``, ``smith``, ``bill``."""
        for cut in range(2, len(word) - 1):
            head, tail = word[:cut], word[cut:]
            if head in self.given and tail in self.family:
                return NameParts(head, tail, head[0])
        for cut in range(2, len(word) - 1):
            head, tail = word[:cut], word[cut:]
            if head in self.family and tail in self.given:
                return NameParts(tail, head, tail[0])
        if len(word) > 3 and word[1:] in self.family:
            return NameParts(None, word[1:], word[0])
        if word in self.family:
            return NameParts(None, word, None)
        if word in self.given:
            return NameParts(word, None, word[0])
        return NameParts()


def read_display_name(display_name: str | None) -> NameParts:
    """Read a display name: ``Bill Smith 🌹``, ``SMITH, Bill``, ``B. Smith``, ``Dr Bill O'Neill``."""
    if not display_name:
        return NameParts()
    text = _DISPLAY_SEPARATORS_RE.split(fold(display_name), maxsplit=1)[0]  # "Bill Smith | Leeds"
    comma_first = "," in text
    words = [w.replace("'", "").replace("-", "") for w in re.findall(r"[a-z]+(?:['-][a-z]+)*\.?|[a-z]", text)]
    words = [w for w in words if w.rstrip(".") not in _TITLES]
    if comma_first and len(words) >= 2:  # "Smith, Bill"
        words = [*words[1:], words[0]]
    tokens = [w.rstrip(".") for w in words if w.rstrip(".")]
    if not tokens:
        return NameParts()
    first = tokens[0]
    rest = tokens[1:]
    while rest and len(rest) > 1 and rest[-1] in _NAME_PARTICLES:
        rest = rest[:-1]
    family = _family_from_tokens(rest)
    if len(first) == 1:
        return NameParts(None, family, first)
    return NameParts(first, family, first[0])


def display_place(display_name: str | None) -> str:
    """Text after a separator in a display name (``Bill Smith | Leeds`` → ``Leeds``), often a place."""
    if not display_name:
        return ""
    parts = _DISPLAY_SEPARATORS_RE.split(display_name, maxsplit=1)
    return parts[1].strip() if len(parts) == 2 else ""


def _family_from_tokens(tokens: list[str]) -> str | None:
    """The family name among the words after the first: the last full word, joined to a particle."""
    full = [t for t in tokens if len(t) > 1]
    if not full:
        return None
    start = len(full) - 1
    while start > 0 and full[start - 1] in _NAME_PARTICLES:
        start -= 1
    return "".join(full[start:])
