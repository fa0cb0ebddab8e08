"""Starter projects: the folders under templates/ that a new app begins from.

Without an API key the offline provider picks the starter that best fits a prompt and
personalises it; with a key, the system prompt shows the model every starter's conventions so
its answers follow the same layout. Both paths read the same manifests, so what the model is
told and what the offline provider writes cannot drift apart.

Each starter is `templates/<slug>/template.json` (the manifest) plus `templates/<slug>/files/`
(the project tree). Every file in the tree is a jinja2 template with square-bracket delimiters
(`[[ var ]]`, `[% block %]`, `[# comment #]`) so that JSX, Vue and Svelte braces pass through
untouched. A starter's acceptance checks are Playwright Test files under `files/.forja/checks/`, one per check of
its plan, titled with the plan's own text (`plan_checks`), so what Plan mode promises is what the checks try. How a
starter installs and runs is not in its manifest: the preview runtime reads it from
the files (preview_runtime.detect), as it does for any project, and the system prompt says what it found.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import jinja2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field, field_validator, model_validator

from builder.errors import StarterError
from builder.filetree import is_skipped, is_utf8_text
from builder.text import initial as initial_of
from preview_runtime.plan import plan_for

log = logging.getLogger(__name__)

TEMPLATES_ROOT = Path(__file__).resolve().parents[2] / "templates"
MANIFEST_NAME = "template.json"
FILES_DIR = "files"

# The general-purpose default, and the one for prompts that ask for a page rather than an app.
DEFAULT_STARTER = "react-vite-tailwind"
PAGE_STARTER = "html"
FULLSTACK_STARTER = "fullstack-react-fastapi"

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class StarterPlan(BaseModel):
    """What the starter builds, as Plan mode shows it offline: {title}, {noun} and {nouns} name the person's app, and
    {example}, {other} and {word} are the two items its checks add and the word its search check looks for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pages: str = Field(min_length=1)
    data: str = Field(min_length=1)
    checks: tuple[str, ...] = Field(min_length=1)

    def for_app(self, variables: StarterVariables) -> StarterPlan:
        """The plan in the words of one app: its placeholders filled in from its variables."""
        names = {
            "title": variables.title,
            "noun": variables.item_noun,
            "nouns": variables.item_noun_plural,
            "example": variables.examples[0],
            "other": variables.examples[1],
            "word": variables.search_word,
        }
        return StarterPlan(
            pages=self.pages.format_map(names),
            data=self.data.format_map(names),
            checks=tuple(check.format_map(names) for check in self.checks),
        )


class Starter(BaseModel):
    """One starter: its manifest, plus the folder it was loaded from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=SLUG_PATTERN)
    title: str = Field(min_length=1)
    stack: tuple[str, ...] = Field(min_length=1)
    keywords: tuple[str, ...] = ()
    description: str = Field(min_length=1)
    conventions: str = Field(min_length=1)
    plan: StarterPlan | None = None
    root: Path

    @property
    def files_dir(self) -> Path:
        return self.root / FILES_DIR

    def file_paths(self) -> list[str]:
        """Relative POSIX paths of every file in the starter's tree, sorted."""
        paths = (p.relative_to(self.files_dir).as_posix() for p in self.files_dir.rglob("*") if p.is_file())
        # Caches a local run may leave behind (node_modules, __pycache__) are not part of the starter.
        return sorted(p for p in paths if not is_skipped(p))


def _slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50].strip("-")
    return slug or "app"


class StarterVariables(BaseModel):
    """What personalises a starter. Every field has a default so a bare prompt still renders."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(default="My App", min_length=1, max_length=120)
    tagline: str = Field(default="A small app made with Forja.", max_length=300)
    prompt: str = ""
    features: list[str] = Field(default_factory=list, max_length=12)
    # Lands in CSS unescaped, so only a plain hex colour is allowed.
    accent: str = Field(default="#4f46e5", pattern=r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
    dark: bool = False
    item_noun: str = Field(default="item", min_length=1, max_length=40)
    item_noun_plural: str = Field(default="", max_length=40)
    # The two items a starter's checks add, in the app's own words ("Lemon cake" in a recipe box, not someone else's
    # errand); left empty, "First <noun>" and "Second <noun>".
    examples: tuple[str, str] = ("", "")

    @field_validator("examples", mode="after")
    @classmethod
    def _clean_examples(cls, value: tuple[str, str]) -> tuple[str, str]:
        first, second = (" ".join(text.split())[:60] for text in value)
        return first, second

    @field_validator("title", "tagline", "item_noun", "item_noun_plural", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("features", mode="after")
    @classmethod
    def _clean_features(cls, value: list[str]) -> list[str]:
        return [f.strip() for f in value if f.strip()]

    @model_validator(mode="after")
    def _default_plural(self) -> StarterVariables:
        # "task" -> "tasks" is right often enough; callers that know better pass the plural.
        if not self.item_noun_plural:
            self.item_noun_plural = self.item_noun + ("es" if self.item_noun.endswith(("s", "x", "ch", "sh")) else "s")
        first, second = self.examples
        # Two of the same would make the search check find both.
        if not first or not second or first.lower() in second.lower() or second.lower() in first.lower():
            self.examples = (f"First {self.item_noun}", f"Second {self.item_noun}")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def search_word(self) -> str:
        """The word of the first example a search check types: the longest one the second example does not hold."""
        first, second = self.examples
        words = [w for w in re.findall(r"\w+", first.lower()) if w not in second.lower()]
        return max(words, key=len) if words else first.lower()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def slug(self) -> str:
        """The title as a package name (lowercase, dashes), for package.json and storage keys."""
        return _slugify(self.title)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def initial(self) -> str:
        """The title's first visible character for the logo and favicon: "🇩🇪", not half a flag."""
        return initial_of(self.title)


# -- Loading --------------------------------------------------------------------------------


def _load_manifest(path: Path) -> Starter:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StarterError(f"Starter manifest {path} could not be read: {exc}") from exc
    if not isinstance(data, dict):
        raise StarterError(f"Starter manifest {path} must be a JSON object.")
    try:
        starter = Starter.model_validate({**data, "root": path.parent})
    except ValidationError as exc:
        raise StarterError(f"Starter manifest {path} is invalid:\n{exc}") from exc
    if starter.name != path.parent.name:
        raise StarterError(f"Starter manifest {path} has name {starter.name!r}; it must match its folder {path.parent.name!r}.")
    if not starter.files_dir.is_dir() or not starter.file_paths():
        raise StarterError(f"Starter {starter.name!r} ({path}) has no files in {starter.files_dir}.")
    return starter


@functools.cache
def _load_cached(root: Path) -> tuple[Starter, ...]:
    if not root.is_dir():
        raise StarterError(f"Starter folder {root} does not exist.")
    starters = tuple(_load_manifest(m) for m in sorted(root.glob(f"*/{MANIFEST_NAME}")))
    log.info("Loaded %d starters from %s: %s", len(starters), root, ", ".join(s.name for s in starters))
    return starters


def load_starters(root: Path = TEMPLATES_ROOT) -> list[Starter]:
    """Every starter under `root`, sorted by name. Cached: manifests are read once per process."""
    return list(_load_cached(root.resolve()))


def get_starter(name: str, starters: Iterable[Starter] | None = None) -> Starter:
    for starter in load_starters() if starters is None else starters:
        if starter.name == name:
            return starter
    raise KeyError(f"No starter named {name!r}.")


# -- Choosing -------------------------------------------------------------------------------

# Naming a technology is the strongest signal there is: "a todo app in Vue" must get Vue.
EXPLICIT_WEIGHT = 10
_STACK_WORDS: dict[str, tuple[str, ...]] = {
    "vue-vite": (r"vue(?:\.?js)?(?:\s*3)?", r"nuxt"),
    "svelte-vite": (r"svelte(?:\s*5)?", r"sveltekit"),
    "flask": (r"flask", r"jinja2?"),
    "fastapi": (r"fast\s?api", r"uvicorn", r"pydantic"),
    # "express" alone is ordinary English ("express delivery"), so it needs a server-ish neighbour.
    "express-api": (
        r"express\.?js",
        r"express(?=\s+(?:api|server|backend|back[\s-]end|app|rest))",
        r"(?:in|with|using|on)\s+express",
        r"node\.?js",
    ),
    "react-vite-tailwind": (r"react(?:\.?js)?", r"tailwind(?:\s?css)?", r"vite"),
    "html": (r"plain\s+html", r"vanilla(?:\s+js)?", r"html(?:5)?", r"no\s+framework", r"static\s+(?:site|page|website)"),
    FULLSTACK_STARTER: (r"full[\s-]?stack",),
}
_BACKEND_WORDS = r"api|apis|backend|back[\s-]end|server|rest(?:ful)?|endpoints?|crud|database"
_PYTHON_WORDS = r"python|py"
_FRONTEND_WORDS = r"react|front[\s-]?end|ui|spa|web\s?app|interface"
_PAGE_WORDS = r"landing|page|pages|site|website|homepage|portfolio"
# Backend intent with no named framework: FastAPI is the default API starter.
_BACKEND_BONUS = {"fastapi": 4, "express-api": 3, "flask": 2, FULLSTACK_STARTER: 1}
_PYTHON_BONUS = {"fastapi": 3, "flask": 3, FULLSTACK_STARTER: 2}
# A front end *and* an API together is the full-stack starter, above either half alone.
_COMBO_BONUS = 2 * EXPLICIT_WEIGHT + 5


def _has(pattern: str, text: str) -> bool:
    return re.search(rf"(?<![\w-])(?:{pattern})(?![\w-])", text, re.IGNORECASE) is not None


def _count_keywords(keywords: Iterable[str], text: str) -> int:
    # Plurals count too: "recipes" fits a starter whose keyword is "recipe".
    return sum(1 for kw in keywords if kw.strip() and _has(re.escape(kw.strip()) + r"(?:s|es)?", text))


def score_starters(prompt: str, starters: Sequence[Starter]) -> dict[str, int]:
    """Each starter's fit for `prompt`: manifest keywords count 1, named stacks count 10."""
    scores = {s.name: _count_keywords(s.keywords, prompt) for s in starters}
    for name, patterns in _STACK_WORDS.items():
        if name in scores and any(_has(p, prompt) for p in patterns):
            scores[name] += EXPLICIT_WEIGHT
    backend = _has(_BACKEND_WORDS, prompt)
    if backend:
        for name, bonus in _BACKEND_BONUS.items():
            if name in scores:
                scores[name] += bonus
    if _has(_PYTHON_WORDS, prompt):
        for name, bonus in _PYTHON_BONUS.items():
            if name in scores:
                scores[name] += bonus
    # Vue or Svelte plus an API is not the React full-stack starter; leave those to their own words.
    other_frontend = any(_has(p, prompt) for key in ("vue-vite", "svelte-vite") for p in _STACK_WORDS[key])
    if FULLSTACK_STARTER in scores and backend and _has(_FRONTEND_WORDS, prompt) and not other_frontend:
        scores[FULLSTACK_STARTER] += _COMBO_BONUS
    return scores


def choose_starter(prompt: str, starters: Sequence[Starter]) -> Starter:
    """The starter that best fits `prompt`.

    Ties (including a prompt that matches nothing) go to the html starter when the prompt asks
    for a page or site, otherwise to the React list app, which fits most small-app prompts.
    """
    if not starters:
        raise ValueError("choose_starter needs at least one starter.")
    scores = score_starters(prompt, starters)
    preferred = [PAGE_STARTER, DEFAULT_STARTER] if _has(_PAGE_WORDS, prompt) else [DEFAULT_STARTER, PAGE_STARTER]
    tie_rank = {name: len(preferred) - i for i, name in enumerate(preferred)}  # higher wins a tie
    order = {s.name: i for i, s in enumerate(starters)}
    best = max(starters, key=lambda s: (scores[s.name], tie_rank.get(s.name, 0), -order[s.name]))
    log.debug("Starter scores for %r: %s -> %s", prompt[:80], scores, best.name)
    return best


# -- Rendering ------------------------------------------------------------------------------


def _markdown_text(value: object) -> object:
    """Values in Markdown are text: no tag may slip through, yet "Tom's Bakery" stays readable."""
    if isinstance(value, str):
        return value.replace("<", "&lt;").replace(">", "&gt;")
    return value


@functools.cache
def _environment(files_dir: Path, markdown: bool = False) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(files_dir, encoding="utf-8"),
        block_start_string="[%",
        block_end_string="%]",
        variable_start_string="[[",
        variable_end_string="]]",
        comment_start_string="[#",
        comment_end_string="#]",
        line_statement_prefix=None,
        line_comment_prefix=None,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        # HTML-like files are escaped, Markdown gets its own escaping, and everything else must use
        # `|tojson` (JS, JSON) or carry only validated values (the accent colour in CSS).
        autoescape=jinja2.select_autoescape(["html", "htm", "jinja", "svg", "xml"], default_for_string=False),
        finalize=_markdown_text if markdown else None,
    )


def render_starter(starter: Starter, variables: StarterVariables) -> dict[str, str]:
    """The starter's tree personalised with `variables`: {relative POSIX path: text}.

    Starters are text-only by rule (so they can be templated and shown to a model); a binary
    file in a starter is a bug in the starter, and rendering refuses it.
    """
    context = variables.model_dump()
    # A check file under .forja/checks/ names its test `[[ plan_checks[0]|tojson ]]`: the plan's check in this app's words.
    context["plan_checks"] = list(starter.plan.for_app(variables).checks) if starter.plan else []
    rendered: dict[str, str] = {}
    for path in starter.file_paths():
        if not is_utf8_text((starter.files_dir / path).read_bytes()):
            raise StarterError(f"Starter {starter.name!r} file {path!r} is not UTF-8 text; starters must be text-only.")
        try:
            env = _environment(starter.files_dir, markdown=path.endswith(".md"))
            rendered[path] = env.get_template(path).render(context)
        except jinja2.TemplateError as exc:
            raise StarterError(f"Starter {starter.name!r} file {path!r} failed to render: {exc}") from exc
    log.info("Rendered starter %s (%d files) for %r", starter.name, len(rendered), variables.title)
    return rendered


# -- Prompting ------------------------------------------------------------------------------


def starter_conventions(starters: Sequence[Starter]) -> str:
    """The starters described for a model's system prompt: stack, run commands, conventions, files."""
    sections = []
    for s in starters:
        files = "\n".join(f"  - {p}" for p in s.file_paths())
        plan = plan_for({path: text.encode() for path, text in render_starter(s, StarterVariables()).items()})
        sections.append(
            f"### {s.title} (`{s.name}`)\n"
            f"{s.description}\n"
            f"Stack: {', '.join(s.stack)}\n"
            f"Forja runs it with: install `{plan.install}`; dev `{plan.dev}`\n"
            f"Conventions: {s.conventions}\n"
            f"Files:\n{files}"
        )
    return "\n\n".join(sections)
