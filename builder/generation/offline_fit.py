"""What offline starter mode can honestly build for a request, and what it must say it did not.

Without a model, Forja can only personalise a starter. A starter fits a request when the thing
asked for is what the starter is (a list app, a one-page site, a JSON API, a posts site); a
feature counts as built only when the starter really does it. Everything else is named in the
summary as not built, so the app never shows "A chart ✓" for a chart that is not there.

Some things asked for are a starter's kind only in part: "a booking system with a calendar" gets the bookings starter,
which has slots to pick but no calendar. Their main ask's missing parts (`NEEDS`) are named as not built too, and the
summary says in plain words what the starter made (`MADE`).

A request that needs people to sign in ("members can log in") and names no kind of data gets the bookings starter, the
one whose people have accounts (Forja's): as a site with sign-in when it asks for a site, else as a starting point.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from builder.generation.starters import EXPLICIT_WEIGHT, PAGE_STARTER, Starter, choose_starter, score_starters
from builder.generation.who_connects import HOW_TO_CONNECT

Kind = Literal["list", "page", "api", "posts", "bookings"]

# What each starter is, by what its files do (see each template.json's description).
STARTER_KINDS: dict[str, Kind] = {
    "react-vite-tailwind": "list",
    "vue-vite": "list",
    "svelte-vite": "list",
    "fullstack-react-fastapi": "list",
    "html": "page",
    "fastapi": "api",
    "express-api": "api",
    "flask": "posts",
    "bookings": "bookings",
}
ACCOUNTS_STARTER = "bookings"
# Starters whose people sign in (Forja's accounts) and keep what is theirs: the bookings starter, and the browser-only
# list starters, whose items are a signed-in person's own rows (their src/lib/forjaData.js).
SIGNS_IN = frozenset({ACCOUNTS_STARTER, "react-vite-tailwind", "vue-vite", "svelte-vite"})
# What each starter makes, in a person's words ({plural}: the app's item noun); every part is in its files.
MADE: dict[str, str] = {
    "react-vite-tailwind": "a list of {plural} you can add to (each with an optional date), tick off, search and remove, "
    "kept in this browser, or with each person's own account once they sign in",
    "vue-vite": "a list of {plural} you can add to, tick off, search and remove, kept in this browser, or with each "
    "person's own account once they sign in",
    "svelte-vite": "a list of {plural} you can add to, tick off, search and remove, kept in this browser, or with each "
    "person's own account once they sign in",
    "fullstack-react-fastapi": "a list of {plural} you can add to (each with an optional date), tick off, search and "
    "remove, kept in a database on the server",
    "html": "a one-page site with a welcome section, cards of what you offer, opening hours with an open-now badge and a "
    "contact form that opens the visitor's email",
    "fastapi": "a JSON API to list, add, change and delete {plural}, kept in SQLite, with its docs and a small page that uses it",
    "express-api": "a JSON API to list, add, change and delete {plural}, kept in a JSON file, with a small page that uses it",
    "flask": "a site of {plural}, each with a title, details and a page of its own, with a form to add them and delete",
    "bookings": "a booking page where customers make an account, sign in, pick a day and a time, and see and cancel their "
    "own {plural}, while the people you make its admins see everyone's and mark them done; Forja keeps the accounts "
    "and the {plural}",
}

# Each kind of starter's tagline, said to the app's visitors: what it is for them, only what its files do ({noun}: the
# app's item noun, {plural}: its plural). A request in the app's header reads as a note to self ("A landing page for my
# bakery"), not as the app's own words.
TAGLINES: dict[Kind, str] = {
    "list": "Add {plural}, tick them off when they are done, and find any of them in a second.",
    "page": "What we offer, when we are open and how to reach us, all on one page.",
    "api": "Your {plural}, kept on the server: list them, add them, change them and remove them.",
    "posts": "Our {plural}, newest first, each on a page of its own.",
    "bookings": "Book your next {noun}: pick a day and a time that suit you.",
}

# Words in the thing asked for that each kind of starter is. "app" alone is not here: a chat app is not a list app.
_THINGS: dict[Kind, str] = {
    "list": r"to-?do|tasks?|lists?|checklists?|trackers?|planners?|organi[sz]ers?|inventory|habits?|recipes?|box|"
    r"collections?|watchlists?|shopping|grocery|groceries|expenses?",
    "page": r"landing|pages?|sites?|website|homepage|portfolio|brochure|one-page|resume|cv",
    "api": r"apis?|rest(?:ful)?|backend|back-end|server|endpoints?|crud|microservice",
    "posts": r"blog|journal|diary|guestbook|posts|articles|notes?|notebook",
    "bookings": r"bookings?|appointments?|reservations?|scheduler|reserv(?:e|ing)|book\s+(?:a|an|the|your|their|my|our)\s+\w+",
}
# A thing that names no kind by itself ("a Flask app to keep notes"): the rest of the request says what it is.
_GENERIC = (
    r"(?:(?:simple|small|little|basic|quick|nice|new|cool|easy|web|online|mobile|single[\s-]page|full[\s-]?stack|"
    r"react|vue|svelte|flask|fastapi|express|node|python|html|javascript|js)\s+)*"
    r"(?:apps?|applications?|tools?|programs?|thing|something|system|platform|software|webapp)"
)
# Features every starter has: its colours, light and dark themes, a layout that works on phones.
_COMMON = r"dark(?:\s+mode|\s+theme)?|light(?:\s+mode|\s+theme)?|night\s+mode|themes?|colou?rs?|responsive|mobile"
_CAN_DO: dict[Kind, str] = {
    "list": r"add(?:ing)?|create|remove|delete|complete|done|tick|check(?:ed)?\s+off|mark|search(?:ing)?|filter(?:ing)?|"
    r"find|save|saved|saving|store|persist(?:ent)?|local\s*storage|items?",
    "page": r"hero|features?|opening\s+hours|hours|contact(?:\s+form)?|about(?:\s+(?:me|us))?|sections?|"
    r"call\s+to\s+action",
    "api": r"crud|create|read|update|delete|list|json|endpoints?|rest|docs|openapi|database|sqlite|storage|persist(?:ent)?",
    "posts": r"posts?|add(?:\s+form)?|forms?|delete|titles?|details?|page\s+per\s+post|database|sqlite",
    "bookings": r"book\w*|appointments?|reserv\w*|cancel\w*|done|mark|admins?|slots?|times?|pick\w*|choose|"
    r"(?:see|view|keep)\s+(?:their|my|your)\s+own",
}
# A request that needs people to have accounts of their own, or to book: bookings are each customer's own. "sign up"
# alone is not here ("sign up for my newsletter"), nor "book" alone ("a REST API for my book collection").
_SIGN_IN = r"login|log[\s-]?in|sign[\s-]?in|accounts?|members?|(?:their|my)\s+own|my\s+(?:bookings|orders|account)"
_ACCOUNTS = rf"{_SIGN_IN}|bookings?|appointments?|reservations?|(?:can|to)\s+book|book\s+(?:a|an|the|your|their|my|our)\s+\w+"
SIGN_IN_LACKING = "sign-in, with each person's own list"
# What the bookings starter does of the account words: its people make an account and sign in.
_SIGNS_IN = re.compile(
    r"(?<![\w-])(?:login|log[\s-]?in|sign[\s-]?(?:in|up)|accounts?|members?|customers?|users?|auth\w*)(?![\w-])",
    re.IGNORECASE,
)
# Words that make a feature more than the starter does, even next to one it has ("search by category").
_BEYOND = (
    r"charts?|graphs?|plots?|stats|statistics|analytics|categor(?:y|ies)|tags?|login|log\s+in|sign[\s-]?(?:in|up)|"
    r"auth\w*|accounts?|users?|passwords?|payments?|checkout|cart|upload\w*|images?|photos?|maps?|emails?|"
    r"notifications?|reminders?|calendar|export|import|sync\w*|chat|messag\w*|comments?|ai|split\w*|calculat\w*|"
    r"totals?|sums?|budgets?|share|sharing|multiplayer|realtime|real-time|video|audio|drag"
)


@dataclass(frozen=True)
class Need:
    """A main ask that no starter does, though a starter's kind matches its name: the words that ask for it, and its
    parts, each with the words that name the same part among the person's own features (then theirs are listed)."""

    asks: str
    parts: tuple[tuple[str, str], ...]


NEEDS: tuple[Need, ...] = (
    Need(
        r"bookings?|appointments?|reservations?|reserv(?:e|ing)|schedul\w*|book\s+(?:a|an|the|your|their|my|our)\s+\w+",
        (
            ("booking slots customers can pick", r"slots?|pick\w*|choose|times?"),
            ("a calendar", r"calendars?"),
            ("a check that no two bookings overlap", r"overlap\w*|double[\s-]book\w*|clash\w*"),
            ("confirmations sent to customers", r"confirm\w*|emails?|sms|texts?"),
        ),
    ),
    Need(
        r"expenses?|spending|budget\w*|financ\w*|money|invoices?|bills?|accounting",
        (("amounts added up into totals", r"amounts?|totals?|sums?|balance"),),
    ),
    Need(r"inventory|stock", (("stock counts that go up and down", r"counts?|quantit\w*|stock|levels?"),)),
    Need(r"habits?", (("a check-in for every day, with streaks", r"streaks?|daily|every\s+day|check[\s-]?ins?"),)),
)

# The parts of a main ask that a starter does build.
BUILT_PARTS: dict[str, tuple[str, ...]] = {"bookings": ("booking slots customers can pick",)}

LEADING = re.compile(
    r"^(?:please\s+)?(?:(?:build|make|create|write|give me|i want|i need)\s+)?(?:me\s+)?(?:(?:an?|the|my|some)\s+)?",
    re.IGNORECASE,
)
# Each starts only where a run of spaces starts: tried from inside a long run as well, it would take time quadratic in
# its length (a prompt of 20,000 spaces, a minute).
CLAUSE = re.compile(
    r"(?<!\s)\s+(with|that|which|where|so that|to|(?:i|we|you|people|customers|users|visitors|guests)\s+can)\s+",
    re.IGNORECASE,
)
_OWNER = re.compile(r"(?<!\s)\s+for\s+", re.IGNORECASE)


def _has(pattern: str, text: str) -> bool:
    return re.search(rf"(?<![\w-])(?:{pattern})(?![\w-])", text, re.IGNORECASE) is not None


def _request(prompt: str) -> str:
    """The request without its opening words: "Please make me a habit tracker." -> "habit tracker"."""
    return LEADING.sub("", " ".join(prompt.strip().rstrip(".!").split()))


def thing_asked(prompt: str) -> str:
    """The thing asked for, without its clauses: "a simple expense tracker with a chart" -> "simple expense tracker".

    A thing that names no kind ("an app where people can book a table") is the whole request: that is where it is said.
    """
    request = _request(prompt)
    thing = _OWNER.split(CLAUSE.split(request, maxsplit=1)[0], maxsplit=1)[0].strip()
    return request if re.fullmatch(_GENERIC, thing, re.IGNORECASE) else thing


def kinds_for(thing: str) -> list[Kind]:
    return [kind for kind, words in _THINGS.items() if _has(words, thing)]


def can_build(feature: str, kind: Kind | None, signs_in: bool = False) -> bool:
    """Whether a starter of `kind` really does `feature` (`signs_in`: its people sign in); unknown starters claim
    nothing."""
    if kind is None:
        return False
    # A starter whose people sign in: those words are its own, and the rest of the feature still counts.
    rest = _SIGNS_IN.sub(" ", feature) if signs_in else feature
    if _has(_BEYOND, rest):
        return False
    return rest != feature or _has(_COMMON, feature) or _has(_CAN_DO[kind], feature)


def needs_accounts(prompt: str) -> bool:
    """Whether the request asks for people who sign in, each with what is theirs."""
    return _has(_ACCOUNTS, prompt)


def lacking(thing: str, not_built: Sequence[str], starter: str = "") -> list[str]:
    """The parts of the thing's main ask that `starter` does not build, but for those the person named as features."""
    return [
        part
        for need in NEEDS
        if _has(need.asks, thing)
        for part, words in need.parts
        if part not in BUILT_PARTS.get(starter, ()) and not any(_has(words, feature) for feature in not_built)
    ]


def made_by(starter: Starter, plural: str) -> str:
    """What the starter makes, in plain words; a starter of another origin says only what it is."""
    return MADE.get(starter.name, f"the {starter.title} starter as it is").format(plural=plural)


def _lower_first(text: str) -> str:
    """Features are capitalised for the app's cards; inside a sentence "A chart" reads as "a chart"."""
    first = text.split(" ", 1)[0]
    return text if len(first) > 1 and first.isupper() else text[:1].lower() + text[1:]


@dataclass
class Fit:
    """The starter to use, the features it really has, what it could not build, and what the thing itself lacks."""

    starter: Starter
    fits: bool
    thing: str
    built: list[str] = field(default_factory=list)
    not_built: list[str] = field(default_factory=list)
    lacks: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether the app is all that was asked for."""
        return self.fits and not self.not_built and not self.lacks

    def tagline(self, noun: str, plural: str) -> str:
        """The app's tagline: its kind's, or the thing asked for where no starter is that thing (its own name for it)."""
        kind = STARTER_KINDS.get(self.starter.name)
        if not self.fits or kind is None:
            return self.thing[:1].upper() + self.thing[1:]
        return TAGLINES[kind].format(noun=noun, plural=plural)

    def summary(self, title: str, plural: str = "items") -> str:
        made = made_by(self.starter, plural)
        if self.complete:
            head = f"Made \u201c{title}\u201d offline (no AI) from the {self.starter.title} starter: {made}."
        elif self.fits:
            head = f"Made \u201c{title}\u201d offline (no AI) from the {self.starter.title} starter, and it is only {made}."
        else:
            head = (
                f"Offline (no AI) there is no starter for \u201c{self.thing}\u201d, so this is only a starting point: "
                f"\u201c{title}\u201d, {made} (the {self.starter.title} starter)."
            )
        missing = ""
        if self.not_built or self.lacks:
            # The person's own words first, quoted; then the parts of the main ask, in Forja's.
            names = [f"\u201c{_lower_first(item)}\u201d" for item in self.not_built] + self.lacks
            missing = f" Not built offline: {', '.join(names)}; connect a model to build them: {HOW_TO_CONNECT}."
        return f"{head}{missing} Edit anything in the Code tab."


def decide(prompt: str, features: Sequence[str], starters: Sequence[Starter], picked: Starter | None = None) -> Fit:
    """Pick the starter whose kind is the thing asked for, and sort the prompt's features into built and not built.

    A named stack ("in Vue") is kept even when nothing fits; otherwise a request no starter is (a
    tip calculator) gets the one-page site, titled as asked, and the thing itself is listed as not built. A request
    that needs accounts and names no kind of data (a site, or nothing known) gets the bookings starter instead. The
    starter the person `picked` (builder.generation.offline_question) is theirs, and fits.
    """
    thing = thing_asked(prompt)
    wanted = kinds_for(thing)
    chosen = choose_starter(prompt, starters)
    fitting = [s for s in starters if STARTER_KINDS.get(s.name) in wanted]
    named = score_starters(prompt, [chosen])[chosen.name] >= EXPLICIT_WEIGHT
    accounts = next((s for s in starters if s.name == ACCOUNTS_STARTER), None)
    if picked is not None:
        starter, fits = picked, True
    elif accounts is not None and not named and set(wanted) <= {"page"} and needs_accounts(prompt):
        # A site whose people sign in is the bookings starter's page; anything else unknown starts from it.
        starter, fits = accounts, bool(wanted)
    elif chosen in fitting:
        starter, fits = chosen, True
    elif fitting and not named:
        starter, fits = choose_starter(prompt, fitting), True
    else:
        page = next((s for s in starters if s.name == PAGE_STARTER), chosen)
        starter, fits = (chosen if named else page), False
    kind = STARTER_KINDS.get(starter.name)
    built = [f for f in features if can_build(f, kind, starter.name in SIGNS_IN)]
    # A feature said again inside the thing ("an app where I can share lists" -> "share lists") is named once.
    not_built = [f for f in features if f not in built and (fits or f.lower() not in thing.lower())]
    lacks = lacking(thing, not_built, starter.name)
    if starter.name not in SIGNS_IN and _has(_SIGN_IN, prompt) and not any(_has(_SIGN_IN, f) for f in not_built):
        # "a full-stack todo app where I sign in": that starter keeps one list for everyone, not a person's own.
        lacks.append(SIGN_IN_LACKING)
    if not fits:
        not_built.insert(0, thing)
    return Fit(starter=starter, fits=fits, thing=thing, built=built, not_built=not_built, lacks=lacks)
