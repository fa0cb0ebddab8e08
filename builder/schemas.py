"""Pydantic models at the service boundary: what the UI, the HTTP API and the CLI exchange."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from builder.errors import InvalidInput
from builder.filetree import MAX_PATH_LENGTH, hidden_character, is_utf8_text
from builder.generation.plan_questions import PlanQuestion
from builder.models import Author, ProjectRole, Role
from preview_runtime.verify import Problem

MAX_ROW_NUMBER = 2**31 - 1
"""The largest id, version number or count the store's INTEGER columns hold (PostgreSQL's `integer`): every number a
request brings is bounded by it at the door, so none reaches the database to overflow there."""
MAX_DOLLARS = 1_000_000.0
"""The largest amount of US dollars a quota or budget may name."""


class RequestBody(BaseModel):
    """A request's JSON body: a field it does not know is refused (422 naming it), never silently ignored."""

    model_config = ConfigDict(extra="forbid")


def plain_text(value: str) -> str:
    """`value` unchanged, or ValueError (pydantic's 422) when it holds a control or bidi-override character."""
    if (found := hidden_character(value)) is not None:
        raise ValueError(f"it holds the invisible character {found}, which is not allowed in a name")
    return value


def valid_text(value: str, label: str) -> str:
    """A name as people see it: InvalidInput (in words) when it holds a control or bidi-override character."""
    if (found := hidden_character(value)) is not None:
        raise InvalidInput(f"The {label} holds the invisible character {found}; type it again without it.")
    return value


# The limits on what people type, the same for the API's bodies and the CLI's arguments.
ProjectName = Annotated[str, Field(min_length=1, max_length=200, examples=["Barber shop booking"]), AfterValidator(plain_text)]
Prompt = Annotated[str, Field(min_length=1, max_length=20_000, examples=["A booking page for my barber shop"])]

_NAME: TypeAdapter[str] = TypeAdapter(ProjectName)
_PROMPT: TypeAdapter[str] = TypeAdapter(Prompt)


def _checked(adapter: TypeAdapter[str], label: str, value: str) -> str:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise InvalidInput(f"The {label} is not accepted: {exc.errors()[0]['msg']}.") from None


def valid_name(value: str) -> str:
    """A project name as the API accepts it; InvalidInput (the API's rule, in words) otherwise."""
    return _checked(_NAME, "project name", value)


def valid_prompt(value: str) -> str:
    """A prompt as the API accepts it; InvalidInput (the API's rule, in words) otherwise."""
    return _checked(_PROMPT, "prompt", value)


class VersionInfo(BaseModel):
    id: int
    number: int
    parent_number: int | None
    author: Author
    message: str
    files_changed: int
    created_at: datetime
    user_id: str | None = Field(default=None, description="The person who saved it; none for the model's or older ones.")
    authors: list[str] = Field(
        default_factory=list, description="Everyone whose changes a save of co-edited files holds, by name (none otherwise)."
    )


Engine = Literal["forja", "opencode", "codex"]
"""What works on a project: Forja's own model rounds, or a coding agent in the project's sandbox (OpenCode or Codex)."""


class ProjectSummary(BaseModel):
    id: str
    name: str
    stack: list[str]
    file_count: int
    current_version: int | None
    created_at: datetime
    updated_at: datetime
    role: ProjectRole | None = Field(default=None, description="Your role in it: owner, editor or viewer.")


MAX_PAGE = 500
"""Most items one page of a list may hold."""
DEFAULT_PAGE = 100


class Paging(BaseModel):
    """Where a page sits in its list: `total` counts the whole list, so a client knows when to stop."""

    total: int = Field(description="Items in the whole list.")
    limit: int
    offset: int


class ProjectPage(Paging):
    items: list[ProjectSummary]


class ProjectDetail(ProjectSummary):
    provider: str = ""
    model: str = ""
    approve_changes: bool = Field(default=False, description="Agent runs wait for a person to accept their change.")
    engine: Engine = Field(default="forja", description="What works on the project: Forja's own model, OpenCode or Codex.")
    versions: list[VersionInfo] = Field(default_factory=list)


class CodeReference(BaseModel):
    """A place in the project's files that an answer relies on."""

    path: str = Field(description="A file of the project.")
    line: int = Field(ge=1, description="Its line, from 1.")
    note: str = Field(default="", max_length=300, description="What is there, in a few words.")


class AgentStep(BaseModel):
    """One step of an agent run: a tool call and how it went, as the conversation lists it."""

    number: int = Field(ge=1)
    tool: str = Field(
        description="list_files, read_file, search_code, edit_file, write_file, delete_file, run_command, read_logs, open_page or fetch_url."
    )
    label: str = Field(description='What it did, in a few words: "Edited src/App.jsx", "Ran npm test".')
    ok: bool = Field(description="False: it failed (a command's non-zero exit, an edit that did not match, a page with errors).")
    detail: str = Field(default="", description="More: a command's exit code and output's end, a page's problems.")
    screenshot: bool = Field(default=False, description="open_page: a screenshot at .../steps/{number}/screenshot.")
    duration_s: float = 0.0


class PendingChange(BaseModel):
    """An agent run's change waiting for approval (the project's Approve changes setting), against `base_version`."""

    base_version: int | None
    summary: str
    writes: dict[str, str] = Field(description="Each written file's whole new text, by path.")
    deletes: list[str] = Field(default_factory=list)


class GenerationInfo(BaseModel):
    id: int
    project_id: str
    version: int | None
    prompt: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float | None = Field(description="Estimate; null when the model's prices are unknown.")
    duration_s: float
    kind: str = Field(
        default="prompt",
        description="prompt (a person asked), repair (an automatic round after a check), plan (Plan mode asked for a "
        "plan), ask (Ask mode: a question, answered in `summary`, changing nothing) or agent (Agent mode: `steps`).",
    )
    outcome: str
    summary: str
    error: str
    pictures: list[str] = Field(default_factory=list, description="Attached pictures, each at /api/pictures/{hash}.")
    references: list[CodeReference] = Field(default_factory=list, description="An ask's answer: the places it relies on.")
    steps: list[AgentStep] = Field(default_factory=list, description="An agent run's steps, in order.")
    pending: PendingChange | None = Field(default=None, description="An agent run awaiting approval: its change.")
    questions: list[PlanQuestion] = Field(
        default_factory=list,
        description="An agent run that asked the person (outcome asking, or awaiting approval): its questions, with "
        "their answers once given (POST /api/projects/{id}/agent/{generation_id}/answers).",
    )
    user_id: str | None = Field(default=None, description="Who asked (a repair round: who asked first); null: unknown.")
    created_at: datetime


class FileInfo(BaseModel):
    path: str
    size: int
    binary: bool = Field(
        description="True when the content is bytes: not UTF-8 text, nor text whose byte-order mark names its encoding."
    )


class PictureAdded(BaseModel):
    """A picture saved into a project as a file: where it went, and the version that holds it."""

    path: str
    version: VersionInfo


class FileContent(BaseModel):
    """One file; UTF-8 text as is, every other file base64-encoded so JSON gives back its exact bytes."""

    path: str
    content: str
    encoding: str = Field(description="'utf-8' (UTF-8 text) or 'base64' (any other file: bytes, UTF-16 text...).")

    @classmethod
    def of(cls, path: str, data: bytes) -> FileContent:
        if is_utf8_text(data):
            return cls(path=path, content=data.decode("utf-8"), encoding="utf-8")
        return cls(path=path, content=base64.b64encode(data).decode("ascii"), encoding="base64")


class CommitResult(BaseModel):
    project_id: str
    version: VersionInfo
    changed: list[str]
    deleted: list[str]


class FileDiff(BaseModel):
    """One file's change between two versions."""

    path: str
    status: Literal["added", "removed", "modified"]
    binary: bool = Field(description="Binary files are reported as changed, without their content.")
    lines_added: int = 0
    lines_removed: int = 0
    diff: str = Field(
        description="Unified diff (a/ and b/ prefixes, /dev/null for a missing side), or 'Binary files ... differ'."
    )


class VersionDiff(BaseModel):
    project_id: str
    version: int
    against: int | None = Field(description="The version compared with; null means the empty tree (before version 1).")
    files: list[FileDiff]
    files_changed: int
    lines_added: int
    lines_removed: int

    def patch(self) -> str:
        """Every file's diff, one after the other, as `git diff` would print them."""
        return "".join(f.diff for f in self.files)


class TrashedProject(ProjectSummary):
    deleted_at: datetime
    purge_at: datetime | None = Field(default=None, description="When the project and its history will be deleted for good.")


class TrashPage(Paging):
    items: list[TrashedProject]


class PurgeResult(BaseModel):
    projects: list[str] = Field(description="Ids of the projects deleted for good.")
    versions: int = 0
    blobs: int = Field(default=0, description="Stored file contents no other project used, now deleted.")


VerificationStatus = Literal["passed", "problems", "failed", "unchecked"]


class AcceptanceInfo(BaseModel):
    """How one acceptance check (a test in the project's `.forja/checks/`) went when a version was checked."""

    number: int = Field(description="1, 2, 3... in the order the checks ran (their files' order).")
    path: str = Field(description="Its file, e.g. .forja/checks/01-add-booking.spec.js.")
    title: str = Field(description="What a visitor does and sees.")
    passed: bool
    message: str = Field(default="", description="Why it failed: the step, and what the browser saw.")
    duration_s: float = 0.0
    screenshot: str | None = Field(description="API path of the page at the check's end (JPEG); null when none.")


class VerificationInfo(BaseModel):
    """What Forja saw when it ran a version: `passed`, `problems` (it runs, with problems), `failed`
    (it did not start) or `unchecked` (the check itself could not run, e.g. no browser)."""

    id: int
    project_id: str
    version: int | None
    status: VerificationStatus
    problems: list[Problem]
    attempts: int = Field(description="Automatic repair rounds that led to this version.")
    screenshot: str | None = Field(description="API path of the page's screenshot (JPEG); null when none was taken.")
    duration_s: float
    note: str = Field(default="", description="Why Forja stopped repairing after this check, when it did.")
    acceptance: list[AcceptanceInfo] = Field(
        default_factory=list, description="The project's acceptance checks (`.forja/checks/`), when it has any."
    )
    created_at: datetime

    @property
    def acceptance_line(self) -> str:
        """ "3 of 4 acceptance checks pass", or "" without checks."""
        if not self.acceptance:
            return ""
        passing = sum(check.passed for check in self.acceptance)
        total = len(self.acceptance)
        return f"{passing} of {total} acceptance check{'s' if total != 1 else ''} pass{'es' if total == 1 else ''}."

    @property
    def headline(self) -> str:
        """The result in one sentence, as the conversation shows it."""
        if self.status == "passed":
            return f"Checked: runs, no errors. {self.acceptance_line}".strip()
        if self.status == "problems" and self.acceptance and all(p.kind == "acceptance" for p in self.problems):
            return f"Checked: runs, no errors. {self.acceptance_line}"
        if self.status == "unchecked":
            return f"Not checked: {self.problems[0].message if self.problems else 'the check could not run.'}"
        if self.status == "failed":
            return f"Checked: the app does not start. {self.problems[0].message if self.problems else ''}".strip()
        count = len(self.problems)
        return f"Checked: it runs, with {count} problem{'s' if count != 1 else ''} left."


class Usage(BaseModel):
    """Tokens and estimated cost, summed over generations (each repair round is one)."""

    generations: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = Field(default=0.0, description="Estimate; generations whose model's prices are unknown count as 0.")
    cost_unknown: int = Field(default=0, description="How many of the generations had no price estimate.")


class CheckResult(BaseModel):
    """How one of a project's own checks (preview_runtime.checks) went in its running preview."""

    name: str = Field(description='"build", "lint", "type-check", "tests"...')
    command: str
    passed: bool
    timed_out: bool = False
    skipped: bool = Field(default=False, description="Not run: no time was left of the checks' total.")
    output_tail: str = Field(default="", description="The end of its output (stdout and stderr together).")
    duration_s: float = 0.0


# -- accounts -------------------------------------------------------------------------------------


class MemberInfo(BaseModel):
    """A person's role in one project."""

    user_id: str
    email: str
    name: str
    role: ProjectRole


class AppUserInfo(BaseModel):
    """One person with an account on a published app (not a Forja account), as its owner sees them."""

    id: str = Field(description="The person's id on this app.")
    email: str
    role: Literal["user", "admin"] = Field(description="user, or admin (sees every row of the app's data).")
    created_at: datetime = Field(description="When they signed up (UTC).")
    disabled_at: datetime | None = Field(
        default=None, description="When their account was turned off (UTC); null while they may sign in."
    )
    verified_at: datetime | None = Field(
        default=None, description="When they opened a link sent to their email (UTC); null while unchecked."
    )


class AppSignUpInfo(BaseModel):
    """How new people get an account on a published app, and whether Forja can email them."""

    mode: Literal["open", "invite"] = Field(description="open: anyone may sign up; invite: only with an invitation.")
    email: bool = Field(
        description="Whether this Forja can send email (an SMTP server is set up); without it no "
        "invitation, address check or password reset link can be sent."
    )


class AppInvitationInfo(BaseModel):
    """An invitation to a published app not used, withdrawn or expired yet (never its link: that went by email)."""

    id: int = Field(description="The invitation's id, to withdraw it.")
    email: str = Field(description="Whom it was sent to.")
    sent_at: datetime = Field(description="When it was sent (UTC).")
    expires_at: datetime = Field(description="When its link stops working (UTC).")


PresenceColour = Literal["tomato", "blue", "grass", "violet", "amber", "cyan", "pink", "teal", "indigo", "orange", "jade", "plum"]
"""The Radix colours a person's avatar takes (builder.services.presence picks one per person)."""
PresenceTab = Literal["preview", "code", "logs", "history", "chat", "terminal"]
PRESENCE_TABS: tuple[PresenceTab, ...] = get_args(PresenceTab)
MAX_SHOWN_NAME = 100
"""The most characters of a person's name other people's pages show (an account's name is at most this long)."""
ShownName = Annotated[str, Field(min_length=1, max_length=MAX_SHOWN_NAME), AfterValidator(plain_text)]


class PresenceInfo(BaseModel):
    """One open page of a project: who has it open, where they are in it, and whether they asked for the generation
    that runs. Every field is checked wherever an entry is read (another worker's, through Redis, too): an entry that
    is not Forja's never reaches a page."""

    model_config = ConfigDict(extra="forbid")

    session: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The page's own id (one per browser tab), random: a person may have several.",
    )
    user_id: str = Field(max_length=64)
    name: ShownName = Field(description='The person\'s name ("Guest" without accounts: FORJA_AUTH=none).')
    initials: str = Field(min_length=1, max_length=8)  # two letters, each up to three once upper-cased ("ﬃ": "FFI")
    colour: PresenceColour = Field(
        description="A Radix colour name, the same for one person on every page (one per tab for Guests)."
    )
    tab: PresenceTab = Field(description="preview, code, logs, history, terminal or chat (a phone's conversation pane).")
    file: Annotated[str, AfterValidator(plain_text)] = Field(
        max_length=MAX_PATH_LENGTH, description="The file open in the Code tab, or empty."
    )
    generating: bool = Field(description="This page asked for the generation that runs now.")
    since: datetime


Count = Annotated[int, Field(ge=0, le=MAX_ROW_NUMBER)]
Dollars = Annotated[float, Field(ge=0, le=MAX_DOLLARS, allow_inf_nan=False)]


class QuotaSet(RequestBody):
    """A person's quotas; a field left empty means the server's default, 0 means no limit (Infinity, NaN and numbers
    past what the store holds are refused, never read as "no limit")."""

    tokens_day: Count | None = Field(default=None, description="Model tokens a day (input and output).")
    cost_day_usd: Dollars | None = Field(default=None, description="Estimated model cost a day, in US dollars.")
    previews: Count | None = Field(default=None, description="Previews running at once.")
    projects: Count | None = Field(default=None, description="Projects owned (the trash counts).")
    storage_mb: Count | None = Field(default=None, description="Stored files of the projects owned, all versions.")
    published_apps: Count | None = Field(default=None, description="Published apps live at once.")
    build_minutes_day: Count | None = Field(default=None, description="Minutes of publish builds a day.")


class QuotaUse(BaseModel):
    """One quota as the person sees it: what they used, of how much."""

    name: str = Field(
        description="tokens_day, cost_day_usd, previews, projects, storage_mb, published_apps or build_minutes_day."
    )
    label: str
    used: float
    limit: float = Field(description="0: no limit.")
    shown: str = Field(description='In words: "12,300 of 1,000,000 tokens today".')

    @property
    def share(self) -> float:
        return self.used / self.limit if self.limit else 0.0


class UserInfo(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    created_at: datetime
    last_sign_in_at: datetime | None
    disabled: bool
    quotas: QuotaSet = Field(description="This person's own values; empty ones follow the defaults.")


class ApiTokenInfo(BaseModel):
    id: int
    name: str
    hint: str = Field(description="The token's first characters.")
    created_at: datetime
    last_used_at: datetime | None


class NewApiToken(ApiTokenInfo):
    token: str = Field(description="The token itself: shown this once, never again.")


class GitTokenInfo(BaseModel):
    """A git token: for git alone (clone, fetch and, if it may, push), on one project, until it expires."""

    id: int
    project_id: str
    project_name: str
    name: str
    hint: str = Field(description="The token's first characters.")
    access: Literal["read", "write"] = Field(description="read: clone and fetch; write: push too (for editors and owners).")
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


class NewGitToken(GitTokenInfo):
    token: str = Field(description="The token itself: shown this once, never again.")
    url: str = Field(description="The project's git address, without credentials.")
    setup: str = Field(description="The shell line that hands the token to git's credential store (in the home folder).")
    clone: str = Field(description="The clone command that reads the token from there, never from a URL.")


class AccountLinkInfo(BaseModel):
    """An invitation or password-reset link, to hand on; its address is shown this once."""

    id: int
    kind: Literal["invite", "reset"]
    url: str
    email: str
    expires_at: datetime


class FailedSignIns(BaseModel):
    """Failed sign-ins of the person's account since their previous sign-in (the Account page tells of them)."""

    since: datetime
    count: int
    addresses: int = Field(description="From how many addresses (an IPv6 address counts as its /64).")
    last_at: datetime | None
