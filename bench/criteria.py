"""Benchmark the criteria matcher on a generated corpus with realistic Unicode.

    .venv/bin/python bench/criteria.py                 # 1,000,000 posts, 100 / 1,000 / 10,000 rules
    .venv/bin/python bench/criteria.py --posts 50000 --rules 1000

For each rule-set size it prints posts/s and MB/s of the whole pipeline (normalise, scan, boolean
checks, spans) on one core and on every core (multiprocessing, fork), for each installed engine;
the ratio to a Hyperscan whole-buffer literal scan of the same corpus and keys (the ceiling: no
per-post Python at all); and the ratio to one ``re`` per rule (the floor, measured on a sample
of posts and extrapolated, as a full run would take hours). Engines must agree exactly: the bench
checks that both produce identical hits and stops otherwise.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import random
import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # this file is named like the app it measures

from criteria.matcher import Matcher, PostView, compile_rules  # noqa: E402 -- after the path fix above
from criteria.query import parse, terms  # noqa: E402

# --- corpus --------------------------------------------------------------------------------------

LANGUAGES = {  # faker's word lists, weight in the corpus
    "en_US": 62,
    "fr_FR": 8,
    "de_DE": 7,
    "ru_RU": 5,
    "ar_AA": 5,
    "he_IL": 3,
    "zh_CN": 4,
    "ja_JP": 3,
    "vi_VN": 3,
}
EMOJI = ["😀", "😂", "🤣", "😡", "👍", "👍🏽", "🙏", "❤️", "🔥", "🐀", "🇬🇧", "👨\u200d👩\u200d👧", "🤡", "💩", "✊🏿"]
CONDUCT = [
    "scum", "vermin", "traitor", "traitors", "parasite", "parasites", "filth", "thug", "thugs", "rat", "rats",
    "snake", "liar", "liars", "crook", "crooks", "hypocrite", "coward", "cowards", "clown", "clowns", "lowlife",
    "degenerate", "scumbag", "scumbags", "grifter", "grifters", "sellout", "sellouts", "idiot", "idiots", "moron",
    "morons", "disgrace", "treacherous", "invaders", "infestation", "subhuman", "vile", "pathetic", "sewer",
]  # fmt: skip
PHRASES = ["go back to", "send them home", "vote for the independent", "not one of us", "string them up"]
ABUSE = [  # other languages' insults, accents and all: rules are multilingual too
    "racaille", "ordure", "pourriture", "vermine", "crapule", "salopard", "Abschaum", "Gesindel", "Volksverräter",
    "Lügenpresse", "мразь", "сволочь", "предатель", "крыса", "паразит", "ублюдок", "basura", "traidor", "escoria",
]  # fmt: skip
THREATS = [
    "string them up", "deserve to hang", "we know where you live", "burn it down", "send them home", "go back to",
    "put them down", "hunt them down", "should be shot", "not one of us", "line them up", "wipe them out",
]  # fmt: skip


def _made_up(rng: random.Random, count: int, capital: bool) -> list[str]:
    """Words no dictionary has (slurs and nicknames in the making, people's names)."""
    onset = ["b", "br", "ch", "d", "dr", "f", "g", "gr", "k", "kr", "l", "m", "n", "p", "sk", "sl", "sn", "t", "v", "z"]
    vowel = ["a", "e", "i", "o", "u", "oo", "ea", "y"]
    coda = ["b", "ck", "d", "g", "k", "m", "nk", "rt", "sh", "t", "x", "zz", "ll", "mp"]
    out: dict[str, None] = {}
    while len(out) < count:
        word = "".join(rng.choice(onset) + rng.choice(vowel) for _ in range(rng.randint(1, 2))) + rng.choice(coda)
        if len(word) >= 5:
            out[word.capitalize() if capital else word] = None
    return list(out)


class Lexicon:
    """What conduct rules name: insults and slurs, threats, and the people and groups they target.

    In the realistic corpus each appears in a small share of posts, as in real traffic, and the
    rules are built from it, so the share of posts a rule set matches is realistic too.
    """

    def __init__(self, seed: int = 5) -> None:
        rng = random.Random(seed)
        self.abuse = CONDUCT + ABUSE + _made_up(rng, 3000, capital=False)
        self.targets = _made_up(rng, 2000, capital=True)
        self.threats = THREATS

    def avoid(self, vocabulary: Iterable[str]) -> None:
        """Drop made-up words that the corpus uses anyway ("skill", "great"): they would not be rare."""
        known = {w.casefold() for w in vocabulary}
        self.abuse = CONDUCT + ABUSE + [w for w in self.abuse[len(CONDUCT) + len(ABUSE) :] if w not in known]
        self.targets = [w for w in self.targets if w.casefold() not in known]


def _vocabulary(rng: random.Random, tail: int = 20_000) -> dict[str, list[str]]:
    """Per language: faker's common words, then a long tail of made-up words in the same script."""
    import importlib

    out = {}
    for lang in LANGUAGES:
        words = importlib.import_module(f"faker.providers.lorem.{lang}").Provider.word_list
        head = [w for w in dict.fromkeys(words) if w.strip() and " " not in w]
        made: dict[str, None] = {}
        for _ in range(tail * 3):  # a few scripts have short lists: stop trying, whatever the count
            a, b = rng.choice(head), rng.choice(head)
            made[a[: max(1, len(a) // 2 + 1)] + b[len(b) // 2 :]] = None
            if len(made) >= tail:
                break
        known = set(head)
        out[lang] = head + [w for w in made if w not in known]
    return out


class Corpus:
    """Posts shaped like social media: Zipf-distributed words, emoji, tags, links, mixed scripts."""

    def __init__(self, seed: int = 7, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon  # None: the old broad corpus (conduct words in 8% of posts)
        self.rng = random.Random(seed)
        self.vocab = _vocabulary(self.rng)
        if lexicon is not None:
            lexicon.avoid(w for words in self.vocab.values() for w in words)
        self.langs = list(LANGUAGES)
        self.lang_weights = list(LANGUAGES.values())
        self.cum = {
            lang: list(_accumulate([1 / (rank + 1) ** 1.0 for rank in range(len(words))]))
            for lang, words in self.vocab.items()
        }

    def posts(self, count: int) -> list[PostView]:
        return [self.post() for _ in range(count)]

    def post(self) -> PostView:
        rng = self.rng
        lang = rng.choices(self.langs, self.lang_weights)[0]
        words = rng.choices(self.vocab[lang], cum_weights=self.cum[lang], k=rng.randint(5, 40))
        if lang in ("zh_CN", "ja_JP"):
            text = "".join(words) + rng.choice(["。", "！", "", "？"])
        else:
            words[0] = words[0].capitalize()
            roll = rng.random()
            lex = self.lexicon
            if lex is None:
                if roll < 0.06:
                    words.insert(rng.randrange(len(words)), rng.choice(CONDUCT))
                elif roll < 0.08:
                    words.insert(rng.randrange(len(words)), rng.choice(PHRASES))
            elif roll < 0.025:  # realistic: abuse in 1% of posts, a named target in 1%, a threat in 0.3%
                pick = lex.abuse if roll < 0.01 else lex.targets if roll < 0.022 else lex.threats
                words.insert(rng.randrange(len(words)), rng.choice(pick))
                if roll < 0.004:  # some abuse names its target
                    words.insert(rng.randrange(len(words)), rng.choice(lex.targets))
            if rng.random() < 0.05:
                k = rng.randrange(len(words))
                words[k] = words[k].upper()
            text = " ".join(words)
            if rng.random() < 0.1:
                text = text.replace(" ", "\n", 1)
            text += rng.choice([".", "!", "?", "", "...", " !!"])
        extras = []
        if rng.random() < 0.25:
            extras.append("".join(rng.choices(EMOJI, k=rng.randint(1, 3))))
        if rng.random() < 0.15:
            extras.append("#" + rng.choice(self.vocab["en_US"][:300]).capitalize() + rng.choice(["", "2024", "Now"]))
        if rng.random() < 0.1:
            extras.insert(0, "@" + rng.choice(self.vocab["en_US"]) + str(rng.randint(1, 99)))
        urls: tuple[str, ...] = ()
        if rng.random() < 0.1:
            urls = (f"https://example{rng.randint(1, 50)}.com/{rng.randint(1, 10**6)}",)
            extras.append(urls[0])
        if extras:
            text = text + " " + " ".join(extras)
        kind = rng.choices(["post", "reply", "repost", "quote", "comment"], [50, 25, 15, 5, 5])[0]
        return PostView(text=text, lang=lang[:2], author_handle=f"user{rng.randint(1, 50000)}", kind=kind, urls=urls)


def _accumulate(values: list[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


# --- rules ---------------------------------------------------------------------------------------


class RuleGen:
    """Rule sets of the shapes operators write: keywords, OR-lists, AND, phrases, NEAR, wildcards."""

    def __init__(self, corpus: Corpus, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        pool = []
        for words in corpus.vocab.values():
            tail = words[2000:]  # rules name specific, rarer words
            pool += [w for w in tail if len(w) >= 3 and " " not in w]
        self.pool = pool
        self.long = [w for w in pool if len(w) >= 7 and w.isascii()]

    def word(self) -> str:
        if self.rng.random() < 0.3:
            return self.rng.choice(CONDUCT)
        return self.rng.choice(self.pool)

    def rule(self) -> str:
        rng, w = self.rng, self.word
        shape = rng.choices(range(9), [20, 15, 15, 10, 15, 10, 5, 7, 3])[0]
        if shape == 0:
            return w()
        if shape == 1:
            return "(" + " OR ".join(w() for _ in range(rng.randint(2, 4))) + ")"
        if shape == 2:
            return f"{w()} {w()}"
        if shape == 3:
            return f'"{w()} {w()}"' if rng.random() < 0.7 else f'"{rng.choice(PHRASES)}"'
        if shape == 4:
            return f"{w()} NEAR/{rng.randint(1, 5)} ({w()} OR {w()})"
        if shape == 5:
            stem = rng.choice(self.long)[: rng.randint(4, 6)]
            return f"{stem}* {w()}" if rng.random() < 0.5 else f"{stem}* -{w()}"
        if shape == 6:
            return f"#{w()} OR @{w()}"
        if shape == 7:
            return f"({w()} OR {w()}) ({w()} OR {w()}) -{w()} -lang:fr"
        return f'{w()} ONEAR/3 {w()} OR "{w()} {w()}" is:reply'

    def rules(self, count: int) -> list[tuple[int, str]]:
        return [(i, self.rule()) for i in range(count)]


class ConductRuleGen(RuleGen):
    """Conduct rules: insults, threats and targets from the lexicon, in the same shapes as above.

    Their terms are rare in the corpus (as real conduct terms are), unlike :class:`RuleGen`'s,
    which name common words and make a quarter to three quarters of all posts match.
    """

    def __init__(self, lexicon: Lexicon, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.lex = lexicon
        self.stems = sorted({w[:5].lower() for w in lexicon.abuse if len(w) >= 7 and w.isascii()})

    def abuse(self) -> str:
        return self.rng.choice(self.lex.abuse)

    def target(self) -> str:
        return self.rng.choice(self.lex.targets)

    def rule(self) -> str:
        rng, a, t = self.rng, self.abuse, self.target
        shape = rng.choices(range(9), [20, 15, 15, 10, 15, 10, 5, 7, 3])[0]
        if shape == 0:
            return a()
        if shape == 1:
            return "(" + " OR ".join(a() for _ in range(rng.randint(2, 4))) + ")"
        if shape == 2:
            return f"{a()} {t()}"
        if shape == 3:
            return f'"{rng.choice(self.lex.threats)}"' if rng.random() < 0.5 else f'"{a()} {t()}"'
        if shape == 4:
            return f"{a()} NEAR/{rng.randint(1, 5)} ({t()} OR {t()})"
        if shape == 5:
            stem = rng.choice(self.stems)
            return f"{stem}* {t()}" if rng.random() < 0.5 else f"{stem}* -{a()}"
        if shape == 6:
            return f"#{a()} OR @{t()}"
        if shape == 7:
            return f"({a()} OR {a()}) ({t()} OR {t()}) -{a()} -lang:fr"
        return f'{a()} ONEAR/3 {t()} OR "{rng.choice(self.lex.threats)}" is:reply'


# --- measurements --------------------------------------------------------------------------------


def _run(matcher: Matcher, posts: Sequence[PostView]) -> tuple[float, float, int, int]:
    """Wall and CPU seconds (the machine is shared: CPU time is what this process used), matches, spans."""
    start, cpu = time.perf_counter(), time.process_time()
    matched = spans = 0
    for result in matcher.match_many(posts):
        if result:
            matched += 1
            spans += sum(len(m.spans) for m in result)
    return time.perf_counter() - start, time.process_time() - cpu, matched, spans


_SHARED: dict[str, object] = {}


def _worker(bounds: tuple[int, int]) -> int:
    matcher = _SHARED["matcher"]
    posts = _SHARED["posts"]
    assert isinstance(matcher, Matcher) and isinstance(posts, list)
    return sum(1 for result in matcher.match_many(posts[bounds[0] : bounds[1]]) if result)


def _run_parallel(matcher: Matcher, posts: list[PostView], workers: int) -> tuple[float, float, int]:
    """Wall and CPU seconds (the workers'), posts matched; the compiled matcher is inherited by fork.

    A few large chunks per worker; ``gc.freeze`` first, so the collector never walks (and so copies,
    page by page) the parent's million inherited posts in every worker.
    """
    _SHARED.update(matcher=matcher, posts=posts)  # inherited by fork, not pickled
    chunk = -(-len(posts) // (workers * 4))
    bounds = [(i, min(i + chunk, len(posts))) for i in range(0, len(posts), chunk)]
    ctx = mp.get_context("fork")
    gc.collect()
    gc.freeze()
    before = os.times()
    start = time.perf_counter()
    pool = ctx.Pool(workers)
    try:
        matched = sum(pool.imap_unordered(_worker, bounds))
    finally:
        pool.close()
        pool.join()
    seconds = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return seconds, cpu, matched


def _hits(matcher: Matcher, posts: Sequence[PostView]) -> list[list[tuple[object, tuple[tuple[int, int], ...]]]]:
    return [[(m.key, m.spans) for m in result] for result in matcher.match_many(posts)]


def _literal_keys(rules: list[tuple[int, str]]) -> list[str]:
    from criteria.matcher import normalize

    keys = {normalize(t.value).strip() for _, q in rules for t in terms(parse(q)) if t.kind != "regex"}
    return sorted(k for k in keys if k)


def _hyperscan_ceiling(keys: list[str], corpus_bytes: bytes) -> float | None:
    try:
        import hyperscan
    except ImportError:
        return None
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[k.encode() for k in keys], ids=list(range(len(keys))), flags=0, literal=True)
    count = [0]

    def on_match(pattern_id: int, start: int, end: int, flags: int, context: object) -> None:
        count[0] += 1

    start = time.perf_counter()
    db.scan(corpus_bytes, match_event_handler=on_match)
    return time.perf_counter() - start


def _re_floor(rules: list[tuple[int, str]], posts: Sequence[PostView]) -> float:
    """Seconds per post with one compiled ``re`` per rule (its terms as a whole-word alternation)."""
    from criteria.matcher import normalize

    patterns = []
    for _, query in rules:
        words = [re.escape(normalize(t.value).strip()) for t in terms(parse(query)) if t.kind != "regex"]
        patterns.append(re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE))
    start = time.perf_counter()
    for post in posts:
        for pattern in patterns:
            pattern.search(post.text)
    return (time.perf_counter() - start) / len(posts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000, help="corpus size (default 1,000,000)")
    parser.add_argument("--rules", type=int, nargs="+", default=[100, 1000, 10000], help="rule-set sizes")
    parser.add_argument("--engines", nargs="+", default=["ahocorasick", "hyperscan"])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for the all-cores run")
    parser.add_argument("--floor-sample", type=int, default=300, help="posts used to time one re per rule")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--broad",
        action="store_true",
        help="the old rule sets of common words (a quarter to three quarters of posts match) and their corpus",
    )
    args = parser.parse_args(argv)

    engines = [e for e in args.engines if e != "hyperscan" or _has_hyperscan()]
    t0 = time.perf_counter()
    lexicon = None if args.broad else Lexicon()
    corpus = Corpus(args.seed, lexicon)
    posts = corpus.posts(args.posts)
    texts = [p.text for p in posts]
    size = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts)
    ascii_share = sum(t.isascii() for t in texts) / len(texts)
    print(
        f"corpus: {len(posts):,} posts, {size / 1e6:.1f} MB UTF-8, {ascii_share:.0%} pure ASCII, "
        f"generated in {time.perf_counter() - t0:.1f}s; {args.workers} workers for the all-cores run"
    )
    print(
        f"rules: {'broad (common words)' if lexicon is None else 'conduct (insults, threats, targets)'}; "
        f"load average {_load()}; posts/s from wall time, [cpu] from this process's CPU time"
    )
    whole = "\n".join(texts).lower().encode("utf-8", "replace")
    gc.collect()
    gc.freeze()  # the million fixture posts live all run long: keep the collector from walking them again and again
    gen = RuleGen(corpus) if lexicon is None else ConductRuleGen(lexicon)
    for count in args.rules:
        rules = gen.rules(count)
        t0 = time.perf_counter()
        matchers = {engine: compile_rules(rules, engine=engine) for engine in engines}
        built = time.perf_counter() - t0
        keys = _literal_keys(rules)
        print(f"\n== {count:,} rules ({len(keys):,} distinct literal keys; compiled in {built:.2f}s) ==")
        sample = posts[:20_000]
        reference = _hits(matchers[engines[0]], sample)
        for engine in engines[1:]:
            if _hits(matchers[engine], sample) != reference:
                raise SystemExit(f"engines disagree on the first {len(sample):,} posts: {engines[0]} vs {engine}")
        if len(engines) > 1:
            print(f"engines agree exactly (hits and spans) on the first {len(sample):,} posts")
        one_core: dict[str, float] = {}
        for engine, matcher in matchers.items():
            seconds, cpu, matched, spans = _run(matcher, posts)
            one_core[engine] = len(posts) / seconds
            print(
                f"{engine:>11} 1 core : {len(posts) / seconds:>10,.0f} posts/s {size / seconds / 1e6:>7.1f} MB/s"
                f"  [cpu {len(posts) / cpu:>9,.0f} posts/s]   {matched:,} posts matched ({matched / len(posts):.2%}),"
                f" {spans:,} spans ({spans / max(matched, 1):.1f} per matched post)"
            )
            seconds, cpu, matched_p = _run_parallel(matcher, posts, args.workers)
            assert matched_p == matched
            print(
                f"{engine:>11} {args.workers} cores: {len(posts) / seconds:>10,.0f} posts/s "
                f"{size / seconds / 1e6:>7.1f} MB/s  [cpu {len(posts) / cpu:>9,.0f} posts/s per core; "
                f"load average {_load()}]"
            )
        best = max(one_core.values())
        ceiling = _hyperscan_ceiling(keys, whole)
        if ceiling is not None:
            rate = len(posts) / ceiling
            print(
                f"  ceiling, Hyperscan whole-buffer literal scan: {rate:>12,.0f} posts/s "
                f"{len(whole) / ceiling / 1e6:.0f} MB/s; best pipeline is {best / rate:.1%} of it"
            )
        per_post = _re_floor(rules, posts[: args.floor_sample])
        print(
            f"  floor, one re per rule (measured on {args.floor_sample} posts, extrapolated): "
            f"{1 / per_post:>10,.0f} posts/s; best pipeline is {best * per_post:,.0f}x faster"
        )


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _has_hyperscan() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
