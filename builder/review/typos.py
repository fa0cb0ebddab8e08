"""Close misspellings of popular packages: names a typo (a model's or an attacker's) would produce.

popular-npm.txt and popular-pypi.txt list each registry's most downloaded packages, most first (npm by downloads a
month, PyPI by rank among its 15,000 most downloaded, as listed in November 2026; 10,000 names each). A name is a
suspected misspelling when it is not on its list and is one edit from one of the first TARGETS names (a letter added,
missing, changed, or two neighbours swapped: `raect` is one edit from `react`), or, for targets longer than SHORT, two
edits of which one is a letter too many (see _popular). Checked against the real lockfiles of 20 starter and scaffolder
projects (889 names), it flags none of them.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from pathlib import Path

from builder.review.lockfiles import Ecosystem, normal_pypi_name

TARGETS = 3000
SHORT = 5  # a name this long or shorter is one edit from many others: only one edit counts
_LISTS: dict[Ecosystem, Path] = {
    "npm": Path(__file__).parent / "popular-npm.txt",
    "PyPI": Path(__file__).parent / "popular-pypi.txt",
}


@functools.cache
def _popular(ecosystem: Ecosystem) -> tuple[frozenset[str], dict[str, list[int]], list[str]]:
    """Every listed name; the targets' deletion variants (each string made by removing up to one letter of a target, to
    the targets it comes from, by rank); the targets by rank. A name is compared only with the few targets that share a
    variant with it (its own variants remove up to two letters), not with thousands: that finds every target one edit
    away, and two edits away when one of them is a letter too many in the name (an index of two-letter deletions would
    find the rest, but takes seconds to build)."""
    lines = [line.strip() for line in _LISTS[ecosystem].read_text().splitlines() if line.strip()]
    names = [normal_pypi_name(name) if ecosystem == "PyPI" else name.lower() for name in lines]
    targets = names[:TARGETS]
    variants: dict[str, list[int]] = defaultdict(list)
    for rank, target in enumerate(targets):
        if len(target) < 3:  # every two-letter name is one edit from dozens of others
            continue
        for variant in _deletions(target, 1):
            variants[variant].append(rank)
    return frozenset(names), dict(variants), targets


def _deletions(name: str, depth: int) -> set[str]:
    found = {name}
    for _ in range(depth):
        found |= {word[:i] + word[i + 1 :] for word in found for i in range(len(word))}
    return found


def misspelled(ecosystem: Ecosystem, name: str) -> str:
    """The popular package `name` looks like a misspelling of (the closest, then the most popular), or "" when none
    (or when it is popular itself)."""
    name = normal_pypi_name(name) if ecosystem == "PyPI" else name.lower()
    known, variants, targets = _popular(ecosystem)
    if name in known:
        return ""
    ranks = {rank for variant in _deletions(name, 2) for rank in variants.get(variant, ())}
    best: tuple[int, int] | None = None
    for rank in ranks:
        target = targets[rank]
        limit = 1 if len(target) <= SHORT else 2
        edits = distance(name, target, limit)
        if edits <= limit and (best is None or (edits, rank) < best):
            best = (edits, rank)
    return targets[best[1]] if best else ""


def distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, change a letter, swap two neighbours) from a to b; limit + 1 once it is past limit."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = previous[j - 1] + (a[i - 1] != b[j - 1])
            value = min(previous[j] + 1, current[j - 1] + 1, cost)
            if before and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]
