"""Query-and-post cases shared by the matcher tests (both engines) and the reference evaluator.

Each case is a rule, a post and whether it matches. Expected spans are marked inside the text
with ⟦ and ⟧ (removed before matching): ``hits("scum", "you ⟦scum⟧")``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from criteria.matcher import PostView

OPEN, CLOSE = "⟦", "⟧"


@dataclass(frozen=True)
class Case:
    query: str
    marked: str
    hit: bool
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def post(self) -> PostView:
        return PostView(text=self.marked.replace(OPEN, "").replace(CLOSE, ""), **self.meta)

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        out, plain, start = [], 0, 0
        for ch in self.marked:
            if ch == OPEN:
                start = plain
            elif ch == CLOSE:
                out.append((start, plain))
            else:
                plain += 1
        return tuple(out)

    def __str__(self) -> str:
        return f"{self.query!r} on {self.marked!r}"


def hits(query: str, marked: str, **meta: Any) -> Case:
    return Case(query, marked, True, meta)


def misses(query: str, text: str, **meta: Any) -> Case:
    return Case(query, text, False, meta)


UTC = dt.UTC
JAN = dt.datetime(2024, 1, 15, 12, 0, tzinfo=UTC)

CASES: list[Case] = [
    # --- keywords: whole words, case- and accent-insensitive -----------------------------------
    hits("scum", "you are ⟦scum⟧"),
    hits("scum", "⟦SCUM⟧!"),
    hits("scum", "⟦Scum⟧, ⟦scum⟧ and more ⟦scum⟧"),
    misses("scum", "scumbag"),
    misses("scum", "ascum"),
    misses("scum", "scum_bag"),
    hits("scum", "(⟦scum⟧)"),
    hits("scum", "#⟦scum⟧"),
    hits("scum", "⟦scum⟧'s"),
    misses("scum", ""),
    hits("cafe", "le ⟦café⟧"),
    hits("café", "le ⟦cafe⟧"),
    hits("café", "le ⟦CAFÉ⟧"),
    hits("café", "le ⟦cafe\u0301⟧ noir"),
    hits("naive", "so ⟦naïve⟧"),
    hits("strasse", "die ⟦Straße⟧"),
    hits("straße", "die ⟦STRASSE⟧"),
    hits("ﬁnance", "⟦finance⟧ now"),
    hits("finance", "⟦ﬁnance⟧ now"),
    hits("ｆｕｌｌ", "⟦full⟧width"[:0] + "⟦full⟧ width"),
    hits("full", "⟦ｆｕｌｌ⟧ width"),
    hits("istanbul", "⟦İstanbul⟧"),
    hits("σοφια", "η ⟦Σοφία⟧"),
    hits("москва", "в ⟦Москве⟧"[:0] + "⟦Москва⟧!"),
    misses("москва", "Москвах"),
    hits("sc\u200bum", "⟦scum⟧"),
    hits("scum", "⟦sc\u200bum⟧"),
    hits("scum", "⟦s\u00adcum⟧"),
    hits("hello", "say ⟦hello⟧\u200f"),
    hits("e-mail", "my ⟦e-mail⟧"),
    misses("e-mail", "email"),
    hits("5g", "⟦5G⟧ masts"),
    hits("don't", "I ⟦don't⟧"),
    hits("don", "I ⟦don⟧'t"),
    # scripts written without spaces: each character is its own word
    hits("中国", "我爱⟦中国⟧人民"),
    hits("ไทย", "ประเทศ⟦ไทย⟧"),
    # --- phrases -------------------------------------------------------------------------------
    hits('"go back to"', "you should ⟦go back to⟧ where"),
    hits('"go back to"', "⟦Go  back\nto⟧ Africa"),
    hits('"go back to"', "⟦go\u00a0back\tto⟧"),
    misses('"go back to"', "go back, to"),
    misses('"go back to"', "go backto"),
    misses('"go back to"', "ago back to"),
    misses('"go back to"', "go back tomorrow"),
    hits('"send them home"', "⟦SEND THEM HOME⟧!!!"),
    hits('"and"', "this ⟦and⟧ that"),
    # --- boolean -------------------------------------------------------------------------------
    hits("scum AND labour", "⟦labour⟧ ⟦scum⟧"),
    misses("scum AND labour", "labour only"),
    hits("scum labour", "⟦scum⟧ of ⟦labour⟧"),
    misses("scum labour", "scum of tories"),
    hits("scum && labour", "⟦scum⟧ ⟦labour⟧"),
    hits("scum OR vermin", "just ⟦vermin⟧"),
    hits("scum || vermin", "just ⟦vermin⟧"),
    hits("scum OR vermin", "⟦scum⟧ and ⟦vermin⟧"),
    misses("scum OR vermin", "nothing here"),
    hits("scum NOT labour", "⟦scum⟧ tories"),
    misses("scum NOT labour", "scum labour"),
    hits("scum AND NOT labour", "⟦scum⟧ tories"),
    misses("scum -labour", "scum labour"),
    hits("scum -labour", "⟦scum⟧ labourer"),
    hits('scum -"labour party"', "⟦scum⟧ labour"),
    misses('scum -"labour party"', "scum labour party"),
    hits("a1 OR b1 c1", "⟦a1⟧"),
    hits("a1 OR b1 c1", "⟦b1⟧ ⟦c1⟧"),
    misses("a1 OR b1 c1", "b1"),
    misses("(a1 OR b1) c1", "a1"),
    hits("(a1 OR b1) c1", "⟦a1⟧ ⟦c1⟧"),
    hits("a1 b1 OR c1 d1", "⟦c1⟧ ⟦d1⟧"),
    misses("a1 b1 OR c1 d1", "a1 d1"),
    hits("a1 AND (b1 OR (c1 AND d1))", "⟦d1⟧ ⟦a1⟧ ⟦c1⟧"),
    misses("a1 AND (b1 OR (c1 AND d1))", "d1 a1"),
    hits("scum -(labour OR tory)", "⟦scum⟧"),
    misses("scum -(labour OR tory)", "scum tory"),
    hits("scum NOT NOT labour", "⟦scum⟧ ⟦labour⟧"),
    hits("(scum OR vermin) -lottery", "⟦vermin⟧ ⟦scum⟧"),
    hits("(a1 OR b1) (b1 OR c1)", "⟦b1⟧"),
    hits("scum (x1 OR NOT y1)", "⟦scum⟧"),
    misses("scum (x1 OR NOT y1)", "scum y1"),
    hits("scum (x1 OR NOT y1)", "⟦scum⟧ ⟦x1⟧ y1"),
    hits('("go back to" OR "send them home") AND NOT lang:fr', "⟦send them home⟧", lang="en"),
    misses('("go back to" OR "send them home") AND NOT lang:fr', "send them home", lang="fr"),
    hits("and OR or", "this ⟦or⟧ that"),
    # --- NEAR/n and ONEAR/n: at most n words in between, punctuation ignored --------------------------------
    hits("scum NEAR/3 (labour OR members)", "⟦Labour⟧ ⟦scum⟧, all of them"),
    hits("scum NEAR/3 (labour OR members)", "⟦scum⟧ like all the ⟦members⟧"),
    misses("scum NEAR/3 (labour OR members)", "scum, like all of the members"),
    hits("scum NEAR/1 labour", "⟦scum⟧ ⟦labour⟧"),
    hits("scum NEAR/1 labour", "⟦scum⟧... ⟦labour⟧!"),
    misses("scum NEAR/1 labour", "scum the big labour"),
    hits("scum NEAR/1 labour", "⟦scum⟧ the ⟦labour⟧"),
    hits("scum NEAR/0 labour", "⟦labour⟧ ⟦scum⟧"),
    misses("scum NEAR/0 labour", "labour, the scum"),
    hits("scum NEAR/2 labour", "⟦labour⟧ the ⟦scum⟧"),
    misses("scum ONEAR/2 labour", "labour the scum"),
    hits("scum ONEAR/2 labour", "⟦scum⟧ the ⟦labour⟧"),
    hits("scum ONEAR/2 labour", "labour x y z ⟦scum⟧ ⟦labour⟧"),
    hits("scum NEAR/2 labour", "⟦scum⟧ a ⟦labour⟧ x y z scum"),
    hits('"go home" NEAR/2 migrants', "⟦migrants⟧ should ⟦go home⟧"),
    misses('"go home" NEAR/2 migrants', "migrants should really not go home"),
    hits("advert* NEAR/2 scam*", "⟦adverts⟧ are ⟦scams⟧"),
    hits("#vote NEAR/1 rival", "⟦#vote⟧ ⟦rival⟧"),
    hits("scum NEAR/2 🐀", "⟦scum⟧ ⟦🐀⟧"),
    hits("scum NEAR/3 labour", "⟦scum⟧ ⟦scum⟧ x ⟦labour⟧"),
    misses("scum NEAR/3 labour", "scum"),
    hits("scum NEAR/3 labour -tory", "⟦scum⟧ ⟦labour⟧"),
    misses("scum NEAR/3 labour -tory", "scum labour tory"),
    hits("(scum NEAR/2 labour) OR vermin", "⟦vermin⟧ scum x y z labour"),
    hits("中国 NEAR/1 人民", "⟦中国人民⟧"),
    hits("scum NEAR/2 labour", "⟦scum⟧ 😀 ⟦labour⟧"),
    # --- wildcards ----------------------------------------------------------------------------
    hits("advertis*", "⟦advertising⟧ and ⟦Advertisers⟧"),
    hits("advertis*", "⟦advertis⟧"),
    misses("advertis*", "readvertise"),
    hits("advertis*", "⟦advertisé⟧"),
    hits("immigra* -lottery", "⟦immigrants⟧ ⟦immigration⟧"),
    hits("immigra*", "⟦immigrant⟧'s"),
    hits("naïv*", "⟦naively⟧"),
    # --- hashtags, mentions, cashtags, emoji --------------------------------------------------
    hits("#VoteRival", "⟦#voterival⟧ now"),
    hits('#VoteRival OR "vote for the independent"', "please ⟦Vote for the Independent⟧"),
    misses("#VoteRival", "#VoteRivals"),
    misses("#VoteRival", "VoteRival"),
    misses("#VoteRival", "x#VoteRival"),
    hits("#VoteRival", "(⟦#VoteRival⟧)"),
    hits("voterival", "⟦#VoteRival⟧"[:1] + "⟦voterival⟧"),
    hits("voterival", "#⟦VoteRival⟧"),
    hits("#vote", "⟦#vote⟧, #voting"),
    hits("#élection", "⟦#Election⟧"),
    hits("@handle", "hey ⟦@Handle⟧!"),
    misses("@handle", "hey @handle_2"),
    misses("@handle", "me@handle"),
    hits("$TSLA", "buy ⟦$tsla⟧"),
    misses("$TSLA", "buy $tslaq"),
    hits("🐀", "you ⟦🐀⟧"),
    hits("🐀", "you⟦🐀🐀⟧"),
    hits("❤️", "I ⟦❤⟧ it"),
    hits("❤", "I ⟦❤️⟧ it"),
    hits("👍", "⟦👍⟧🏽 ok"),
    hits("🐀 scum", "⟦scum🐀⟧"),
    # --- metadata fields ----------------------------------------------------------------------
    hits("scum from:@bob", "⟦scum⟧", author_handle="bob"),
    hits("scum from:bob", "⟦scum⟧", author_handle="@Bob"),
    misses("scum from:@bob", "scum", author_handle="bobby"),
    hits("from:@bob", "anything", author_handle="bob"),
    hits("scum lang:en", "⟦scum⟧", lang="en-GB"),
    misses("scum lang:en", "scum", lang="eng"),
    misses("scum lang:en", "scum", lang=""),
    hits("scum -lang:fr", "⟦scum⟧", lang="en"),
    hits("scum is:reply", "⟦scum⟧", kind="reply"),
    misses("scum is:reply", "scum", kind="post"),
    hits("scum is:repost", "⟦scum⟧", kind="repost"),
    hits("scum is:quote", "⟦scum⟧", kind="quote"),
    hits("scum is:comment", "⟦scum⟧", kind="comment"),
    hits("scum -is:repost", "⟦scum⟧", kind="post"),
    misses("scum -is:repost", "scum", kind="repost"),
    hits("scum has:links", "⟦scum⟧ see https://example.com/x"),
    hits("scum has:links", "⟦scum⟧", urls=("https://example.com",)),
    misses("scum has:links", "scum"),
    hits("scum url:example.com", "⟦scum⟧", urls=("https://www.Example.com/a",)),
    hits("scum url:example.com", "⟦scum⟧ http://example.com/a"),
    misses("scum url:example.com", "scum", urls=("https://other.org",)),
    hits("scum date:2024-01-01..2024-01-31", "⟦scum⟧", created_at=JAN),
    misses("scum date:2024-02-01..2024-02-28", "scum", created_at=JAN),
    hits("scum date:2024-01-15", "⟦scum⟧", created_at=JAN),
    hits("scum date:2024-01-01..", "⟦scum⟧", created_at=JAN),
    hits("scum date:..2024-01-15", "⟦scum⟧", created_at=JAN),
    misses("scum date:..2024-01-14", "scum", created_at=JAN),
    misses("scum date:2024-01-01..", "scum"),
    hits("scum since:2024-01-15", "⟦scum⟧", created_at=JAN),
    misses("scum until:2024-01-15", "scum", created_at=JAN),
    hits("scum until:2024-01-16", "⟦scum⟧", created_at=JAN),
    hits(
        "scum date:2024-01-16",
        "⟦scum⟧",
        created_at=dt.datetime(2024, 1, 16, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ),
    hits("scum date:2024-01-15", "⟦scum⟧", created_at=dt.datetime(2024, 1, 15, 23, 59)),  # noqa: DTZ001 -- naive is read as UTC
    hits("scum (from:bob OR from:eve)", "⟦scum⟧", author_handle="eve"),
    hits("scum OR from:bob", "no term", author_handle="bob"),
    hits("scum OR from:bob", "⟦scum⟧", author_handle="eve"),
    # --- raw: case- and accent-exact ----------------------------------------------------------
    hits("raw:Apple", "apple ⟦Apple⟧ APPLE"),
    misses("raw:Apple", "apple APPLE"),
    hits("raw:Café", "⟦Café⟧ cafe"),
    hits("raw:Café", "⟦Cafe\u0301⟧"),
    misses("raw:Café", "Cafe"),
    hits('raw:"Big Apple"', "the ⟦Big  Apple⟧"),
    misses('raw:"Big Apple"', "the big apple"),
    misses("raw:Apple", "Apples"),
    hits("raw:Apple OR pear", "⟦pear⟧"),
    # --- /regex/ with a required literal -----------------------------------------------------
    hits("/scum+bags?/", "you ⟦scummbags⟧"),
    hits("/scum+bags?/", "⟦SCUMBAG⟧"),
    misses("/scum+bags?/", "scum bag"),
    hits("/\\bscum\\w*/", "⟦scumbag⟧ ⟦scum⟧"),
    hits("/f[o0]+lish/ OR idiot", "⟦f00lish⟧"),
    hits("/v[e3]rmin/ labour", "⟦v3rmin⟧ ⟦labour⟧"),
    misses("/v[e3]rmin/ labour", "v3rmin tory"),
    hits("/\\d{3}-scam/", "call ⟦555-scam⟧"),
    # --- odd Unicode never crashes ------------------------------------------------------------
    misses("scum", "\ud800"),
    hits("scum", "\ud800⟦scum⟧\udfff"),
    hits("scum", "\u202e⟦scum⟧\u202c"),
    hits("خائن", "أنت ⟦خائن⟧!"),
    hits("שקרן", "\u200fאתה ⟦שקרן⟧"),
    hits("scum", "Z̷̢a̶l̵g̴o ⟦s̸c̷u̵m̶⟧"),
    misses("scum", "👨\u200d👩\u200d👧"),
    hits("👨\u200d👩\u200d👧", "family ⟦👨\u200d👩\u200d👧⟧"),
    hits("scum", "\x00⟦scum⟧\x00"),
    hits("नमस्ते", "⟦नमस्ते⟧ दोस्तों"),
    misses("नम", "नमस्ते"),
    hits("한국", "⟦한국⟧ 사람"),
    hits("scum", "𝐬𝐜𝐮𝐦"[:0] + "⟦𝐬𝐜𝐮𝐦⟧"),
    hits("scum", "⟦ＳＣＵＭ⟧"),
]
