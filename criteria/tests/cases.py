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
]
