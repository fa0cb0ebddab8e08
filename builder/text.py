"""Cutting text for display without breaking a character or a phrase in half.

A "character" here is what a person sees (a grapheme): "🇩🇪" is two code points, "👩🏽‍💻" five, "é"
may be two. Slicing code points (or JavaScript's UTF-16 units) splits them, and a lone half shows
as "�" or as the wrong emoji. This covers emoji sequences and combining marks, which is what
titles hold; a full UAX #29 segmenter would be a dependency for one glyph.
"""

from __future__ import annotations

import unicodedata

_ZWJ = "\u200d"
# Code points that attach to the one before: variation selectors, emoji skin tones, tag characters
# (subdivision flags such as England's), and the combining enclosing keycap.
_ATTACHING = (
    (0xFE00, 0xFE0F),
    (0x1F3FB, 0x1F3FF),
    (0xE0020, 0xE007F),
    (0x20E3, 0x20E3),
)
_REGIONAL_INDICATORS = (0x1F1E6, 0x1F1FF)


def _attaches(char: str) -> bool:
    code = ord(char)
    if any(low <= code <= high for low, high in _ATTACHING):
        return True
    return unicodedata.category(char) in ("Mn", "Me", "Mc")


def _is_regional(char: str) -> bool:
    return _REGIONAL_INDICATORS[0] <= ord(char) <= _REGIONAL_INDICATORS[1]


def first_grapheme(text: str) -> str:
    """The first character a person sees in `text` ("" for empty text)."""
    if not text:
        return ""
    end = 1
    if _is_regional(text[0]) and len(text) > 1 and _is_regional(text[1]):
        end = 2  # a flag is a pair of regional indicators
    while end < len(text):
        if _attaches(text[end]):
            end += 1
        elif text[end] == _ZWJ and end + 1 < len(text):
            end += 2  # a zero-width joiner glues the next emoji into this one
        else:
            break
    return text[:end]


def graphemes(text: str) -> list[str]:
    """`text` split into the characters a person sees."""
    parts: list[str] = []
    while text:
        part = first_grapheme(text)
        parts.append(part)
        text = text[len(part) :]
    return parts


def initial(text: str) -> str:
    """A name's first visible character, capitalised, for a logo or an avatar ("?" when there is none)."""
    first = first_grapheme(text.strip())
    # Only the base letter changes case: marks and emoji modifiers after it stay as they are.
    return first[:1].upper() + first[1:] if first else "?"


# Words that leave a title hanging when it ends on them ("Pizza Night Planner Für").
_DANGLING = frozenset(
    """a an and at by de del der des die das du en et for from für in la le les mit of on or
    pour the to und von with y""".split()
)


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` visible characters, cut at a word boundary, not on a dangling word.

    Falls back to a cut between characters when the first word alone is longer than `limit`.
    """
    words = text.split()
    kept: list[str] = []
    for word in words:
        if len(graphemes(" ".join([*kept, word]))) > limit:
            break
        kept.append(word)
    if not kept and words:
        return "".join(graphemes(words[0])[:limit])
    return " ".join(kept if len(kept) == len(words) else trim_dangling(kept))


def trim_dangling(words: list[str]) -> list[str]:
    """`words` without the connecting words at their end, keeping at least one word."""
    while len(words) > 1 and words[-1].lower().strip(",;:-&") in _DANGLING | {""}:
        words = words[:-1]
    return words
