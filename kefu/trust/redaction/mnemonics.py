"""BIP-39 seed phrases in English and Chinese, found without a per-word loop over ordinary text.

A cheap regex first finds runs of at least twelve word-shaped tokens (English: 3–8 letters each, since
every BIP-39 English word has that length; Chinese: single characters of the wordlists); only those runs
are checked word by word. Ordinary English rarely has twelve such words in a row (short words like
"I", "my", "is" break the run) and never with nearly all of them in the wordlist; ordinary Chinese is
made of wordlist characters, so a Chinese run counts only when its characters are written one by one
(separated by spaces or commas) or, when contiguous, pass the checksum and look random.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from functools import cache

from kefu.trust.redaction.english_common import COMMON_WORDS
from kefu.trust.redaction.kinds import Finding, SecretKind
from kefu.trust.redaction.wordlists import (
    CHINESE_LISTS,
    VALID_LENGTHS,
    char_class,
    checksum_ok,
    chinese_chars,
    word_index,
)

# Invisible characters an evasive (or sloppy) paste may put between words.
_INVISIBLE = "\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff"
_EN_SEP = rf"[\s,;:.、，。；：|/*•·#()\[\]0-9\-{_INVISIBLE}]"
# Separators are a class disjoint from letters and each word must end at a non-letter, so the run
# matches deterministically (no catastrophic backtracking on hostile input).
_EN_RUN = re.compile(
    rf"(?<![A-Za-z])[A-Za-z]{{3,8}}(?![A-Za-z])(?:{_EN_SEP}{{1,12}}[A-Za-z]{{3,8}}(?![A-Za-z])){{11,}}"
)
_EN_WORD = re.compile(r"[A-Za-z]+")
_INVISIBLE_CHARS = (
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
_WHITESPACE = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_MIN_WORDS = 12
Token = tuple[int, int, str]  # (start, end, word) in the original text
# A checksum-valid phrase is looked for at most this many words in from either end of a run (a label
# such as "my seed phrase" before it, "please help" after it); a bound keeps long runs cheap.
_EDGE_WORDS = 4
_LABEL_WORDS = frozenset(
    {"seed", "phrase", "word", "words", "secret", "key", "mnemonic", "recovery", "backup"}
)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ZH_SEP = rf"[\s,，、;；:：.。·|/0-9\-{_INVISIBLE}]"
# Single characters separated from each other; the look-behind follows the first character so the
# regex engine skips everything that is not Chinese fast.
_ZH_SPACED = re.compile(
    rf"[{_CJK}](?<![{_CJK}][{_CJK}])(?![{_CJK}])(?:{_ZH_SEP}{{1,8}}[{_CJK}](?![{_CJK}])){{11,}}"
)
_ZH_CHAR = re.compile(rf"[{_CJK}]")
# Literal alternatives (no IGNORECASE) keep this search fast; it runs once per long Chinese run.
_ZH_CUE = re.compile(
    "助记词|助記詞|记忆词|記憶詞|种子|種子|恢复|恢復|备份|備份|钱包|錢包|私钥|私鑰"
    "|seed|Seed|SEED|mnemonic|Mnemonic|MNEMONIC|phrase|Phrase|PHRASE|words|Words|WORDS"
)
_CUE_REACH = 24
# Chinese prose uses the frequent characters (the lists are ordered by frequency); a mnemonic's
# characters are uniform over 0–2047. Measured on the help-center corpus: a window of 12 prose
# characters has at most 5 below index 500 in ~1 % of cases; a random mnemonic in ~95 %.
_FREQUENT = 500


# Checksums computed per text (plus one per 32 characters). Realistic text needs a few per candidate
# run; text stuffed with thousands of list-word runs would need millions. Past the budget, runs can
# still be likely phrases (English and spaced Chinese), just not certain ones.
_CHECKSUM_BUDGET = 4096


class _Budget:
    def __init__(self, text: str) -> None:
        self.left = _CHECKSUM_BUDGET + len(text) // 32

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


@cache
def _zh_run() -> re.Pattern[str]:
    """Runs of ≥ 12 wordlist characters (single spaces allowed), matched from the run's start only:
    without the look-behinds every position inside a long prose run would rescan it."""
    x = char_class(chinese_chars())
    return re.compile(rf"{x}(?<!{x}{x})(?<!{x}[ \u3000]{x})(?:[ \u3000]?{x}){{11,}}")


def find_mnemonics(text: str) -> Iterator[Finding]:
    """Seed phrases: English runs of ≥ 12 words, Chinese spaced or checksum-valid contiguous runs."""
    budget = _Budget(text)
    if len(text) >= _MIN_WORDS * 4 - 1:  # twelve 3-letter words and eleven separators
        yield from _find_english(text, budget)
    if len(text) >= _MIN_WORDS and not text.isascii():
        yield from _find_chinese_spaced(text, budget)
        yield from _find_chinese_contiguous(text, budget)


def _find_english(text: str, budget: _Budget) -> Iterator[Finding]:
    index = word_index("english")
    for run in _EN_RUN.finditer(text):
        base = run.start()
        tokens = [
            (base + m.start(), base + m.end(), m.group().lower()) for m in _EN_WORD.finditer(run.group())
        ]
        member = [word in index for _, _, word in tokens]
        for piece, _typos in _dense_pieces(tokens, member, _english_typo):
            yield from _judge_english(text, piece, index, budget)


def _find_chinese_spaced(text: str, budget: _Budget) -> Iterator[Finding]:
    indexes = tuple(word_index(name) for name in CHINESE_LISTS)
    for run in _ZH_SPACED.finditer(text):
        base = run.start()
        tokens = [(base + m.start(), base + m.end(), m.group()) for m in _ZH_CHAR.finditer(run.group())]
        member = [any(c in index for index in indexes) for _, _, c in tokens]
        for piece, typos in _dense_pieces(tokens, member, None):
            window = None if typos else _checksum_window(piece, indexes, 1.0, budget)
            span = window or piece
            yield Finding(SecretKind.SEED_PHRASE, span[0][0], span[-1][1], certain=window is not None)


def _english_typo(word: str) -> bool:
    """One edit (insert, delete, replace, swap) away from a list word: a misspelt phrase word.

    Symmetric deletes: two words are one edit apart when deleting at most one letter from each
    gives the same string, so a check costs a few set lookups instead of a scan of the list.
    """
    near = _english_deletes()
    return word in near or any(word[:i] + word[i + 1 :] in near for i in range(len(word)))


@cache
def _english_deletes() -> frozenset[str]:
    words = word_index("english")
    return frozenset(words) | frozenset(w[:i] + w[i + 1 :] for w in words for i in range(len(w)))


def _dense_pieces(
    tokens: list[Token], member: list[bool], typo: Callable[[str], bool] | None
) -> Iterator[tuple[list[Token], int]]:
    """Stretches of ≥ 12 list words with at most one typo per twelve words; yields (tokens, typos).

    A non-list word is a typo when `typo` says so (anywhere), or, without `typo`, when it sits between
    two list words; two non-list words in a row end the stretch.
    """
    count = len(tokens)
    ok = [
        member[i] or (typo(tokens[i][2]) if typo else 0 < i < count - 1 and member[i - 1] and member[i + 1])
        for i in range(count)
    ]
    stretch: list[int] = []
    for i in range(count):
        if not ok[i]:
            yield from _close(tokens, member, stretch)
            stretch = []
            continue
        if not member[i] and stretch and not member[stretch[-1]]:
            yield from _close(tokens, member, stretch)
            stretch = []
        stretch.append(i)
    yield from _close(tokens, member, stretch)


def _close(tokens: list[Token], member: list[bool], stretch: list[int]) -> Iterator[tuple[list[Token], int]]:
    # Non-list words at the edges are more likely the surrounding sentence ("… distance thanks")
    # than typos, so they go when twelve words remain without them.
    inner = stretch
    while inner and not member[inner[0]]:
        inner = inner[1:]
    while inner and not member[inner[-1]]:
        inner = inner[:-1]
    if len(inner) >= _MIN_WORDS:
        stretch = inner
    if len(stretch) < _MIN_WORDS:
        return
    typos = sum(1 for j in stretch if not member[j])
    if typos <= len(stretch) // _MIN_WORDS:
        yield [tokens[j] for j in stretch], typos
        return
    # Too many typos for one phrase: only the typo-free parts can still be phrases.
    part: list[int] = []
    for j in [*stretch, -1]:
        if j >= 0 and member[j]:
            part.append(j)
            continue
        if len(part) >= _MIN_WORDS:
            yield [tokens[k] for k in part], 0
        part = []


def _judge_english(
    text: str, piece: list[Token], index: dict[str, int], budget: _Budget
) -> Iterator[Finding]:
    core = piece
    while core and core[0][2] not in index:
        core = core[1:]
    while core and core[-1][2] not in index:
        core = core[:-1]
    if all(w in index for _, _, w in core):
        window = _checksum_window(core, (index,), 2 / 3, budget)
        if window is not None:
            yield Finding(SecretKind.SEED_PHRASE, window[0][0], window[-1][1], certain=True)
            return
    piece = _after_label(text, piece)
    if _common_share(piece) <= 1 / 2 and _uniform_separators(text, piece):
        yield Finding(SecretKind.SEED_PHRASE, piece[0][0], piece[-1][1], certain=False)


def _common_share(tokens: list[Token]) -> float:
    return sum(1 for _, _, w in tokens if w in COMMON_WORDS) / len(tokens)


def _uniform_separators(text: str, tokens: list[Token]) -> bool:
    """A pasted phrase is separated the same way throughout ("1. ", ", ", spaces or line breaks)."""
    shapes = {
        _WHITESPACE.sub(" ", _DIGITS.sub("#", text[a[1] : b[0]])).strip(_INVISIBLE_CHARS) or " "
        for a, b in itertools.pairwise(tokens)
    }
    return len(shapes) == 1


def _checksum_window(
    tokens: list[Token], indexes: Sequence[dict[str, int]], common_share: float, budget: _Budget
) -> list[Token] | None:
    """The longest checksum-valid phrase in the run, starting or ending near one of the run's ends.

    `common_share` bounds the share of everyday words (English): prose made only of list words
    passes a 12-word checksum one time in sixteen.
    """
    count = len(tokens)
    id_lists = [[index.get(w, -1) for _, _, w in tokens] for index in indexes]
    for size in reversed(VALID_LENGTHS):
        if size > count:
            continue
        last = count - size
        offsets = sorted({*range(min(_EDGE_WORDS, last) + 1), *range(max(0, last - _EDGE_WORDS), last + 1)})
        for offset in offsets:
            for ids in id_lists:
                window_ids = ids[offset : offset + size]
                if -1 in window_ids:
                    continue
                if not budget.spend():
                    return None
                window = tokens[offset : offset + size]
                if checksum_ok(window_ids) and (common_share >= 1 or _common_share(window) <= common_share):
                    return window
    return None


def _after_label(text: str, tokens: list[Token]) -> list[Token]:
    """Drop a leading label such as "seed phrase:" or "phrase" (its words are in the wordlist too)."""
    for i in range(min(3, len(tokens) - _MIN_WORDS), 0, -1):
        if ":" in text[tokens[i - 1][1] : tokens[i][0]]:
            return tokens[i:]
    while len(tokens) > _MIN_WORDS and tokens[0][2] in _LABEL_WORDS:
        tokens = tokens[1:]
    return tokens


def _find_chinese_contiguous(text: str, budget: _Budget) -> Iterator[Finding]:
    indexes = tuple(word_index(name) for name in CHINESE_LISTS)
    for run in _zh_run().finditer(text):
        group = run.group()
        count = len(group) - group.count(" ") - group.count("\u3000")
        # With a cue ("助记词是…") the phrase may share the run with the cue's own characters, and a
        # run that is exactly a phrase may look a little less random.
        cued = _ZH_CUE.search(text, max(0, run.start() - _CUE_REACH), run.end()) is not None
        if count not in VALID_LENGTHS and not cued:
            continue
        positions = [run.start() + i for i, c in enumerate(group) if c not in " \u3000"]
        chars = [text[p] for p in positions]
        windows: list[tuple[int, int, float]] = []  # (first, last + 1, largest share of frequent chars)
        if count in VALID_LENGTHS:
            windows.append((0, count, 7 / 12 if cued else 5 / 12))
        if cued:
            windows += [
                (a, a + n, 5 / 12) for n in reversed(VALID_LENGTHS) if n < count for a in (0, count - n)
            ]
        for index in indexes:
            ids = [index.get(c, -1) for c in chars]
            window = next((w for w in windows if _phrase(ids[w[0] : w[1]], w[2], budget)), None)
            if window is not None:
                start, end = positions[window[0]], positions[window[1] - 1] + 1
                yield Finding(SecretKind.SEED_PHRASE, start, end, certain=True)
                break


def _phrase(ids: list[int], frequent_share: float, budget: _Budget) -> bool:
    """All in the list, random-looking (few frequent characters), checksum-valid."""
    if -1 in ids:
        return False
    frequent = sum(1 for i in ids if i < _FREQUENT)
    return frequent <= frequent_share * len(ids) and budget.spend() and checksum_ok(ids)
