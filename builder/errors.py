"""Every failure Forja tells a person about: one base class with a status and a sentence.

The HTTP API answers a ForjaError with its `status` and `{"detail": message, ...}`; the CLI
prints the message to stderr and exits 1 (or the error's `exit_code`); the UI shows the message. Anything else that
escapes is a bug.
"""

from __future__ import annotations

from typing import Any


class ForjaError(Exception):
    """A failure with a sentence for people; `status` is the HTTP status that fits it."""

    status: int = 400
    # What the CLI exits with: 2 for a refusal before anything was done, as for a usage mistake.
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, object]:
        """The JSON answer of the HTTP API."""
        return {"detail": self.message}

    def headers(self) -> dict[str, str]:
        """HTTP headers that go with the answer (Retry-After)."""
        return {}


class NotFound(ForjaError):
    """A project, version, file or link that does not exist; the message says which."""

    status = 404


# A ValueError as well: pydantic turns a ValueError raised in a validator (a path in a model's
# field) into a ValidationError, which the engine and the request models rely on.
class FileTreeError(ForjaError, ValueError):
    """A tree broke a rule; the message names the file and the rule, in plain words."""

    status = 422

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def body(self) -> dict[str, object]:
        return {"detail": self.message, "path": self.path}


class InvalidInput(ForjaError):
    """A name, message or prompt the store cannot keep (empty, or not valid Unicode)."""

    status = 422


class VersionMoved(ForjaError):
    """A change made on a version the project has since moved past (a git push while someone saved)."""

    status = 409


class RestoreRefused(ForjaError):
    """A restore that would lose or break something, refused before it touched anything: a data folder or database
    that is not empty, an archive from a newer Forja, or a damaged archive (the sentence says which part)."""

    status = 409
    exit_code = 2


class GenerationError(ForjaError):
    """Ends a generation with nothing saved."""

    status = 422


class GenerationBusy(GenerationError):
    """The project already has a generation running (in this process or another one)."""

    status = 409


class PlanBuilt(ForjaError):
    """The plan was built already: a new change asks for a new plan."""

    status = 409


class PlanAsking(ForjaError):
    """The plan is not at the step asked for: its questions wait for answers (so it cannot be built or changed yet),
    or it has none waiting (so there is nothing to answer)."""

    status = 409


class ChangeNotPending(ForjaError):
    """An agent run's change that cannot be accepted or rejected: decided already, or the project moved on since."""

    status = 409


class NotAsking(ForjaError):
    """An agent run whose questions cannot be answered: it asked none, or they were answered already."""

    status = 409


class ProviderError(ForjaError):
    """A failure to tell the person about as is (bad key, unknown model): retrying will not help."""

    status = 400


class TransientProviderError(ProviderError):
    """Rate limits, overload and dropped connections: worth a retry with backoff."""

    status = 503


class StarterError(ForjaError):
    """A starter template shipped with Forja is broken: a fault of this installation, not of the request."""

    status = 500


class GitExportError(ForjaError):
    """git is missing or failed while building a bundle."""

    status = 503


class PreviewError(ForjaError):
    """A preview could not start, answer or be reached (preview_runtime's RunnerError, translated)."""

    status = 409


class PreviewRefused(PreviewError):
    """This machine will not run previews as set up (preview_runtime's MachineRefused): no repair of the app helps."""

    status = 503


class PackagesRefused(PreviewError):
    """The project asks for a package that should not be installed (builder/services/install_gate.py): its files need
    a change, not another start."""

    status = 422


class SharePreviewsBusy(PreviewError):
    """As many share links' previews run as FORJA_SHARE_PREVIEWS allows: one more waits for one of them to stop."""

    status = 503

    def body(self) -> dict[str, object]:
        # Said in the body, so the answer of another worker (a RemoteRefusal) still tells it.
        return {"detail": self.message, "busy": True}


def busy(exc: ForjaError) -> bool:
    """Whether a refusal, here or from another worker, is SharePreviewsBusy."""
    return exc.body().get("busy") is True


class GraderUnavailable(ForjaError):
    """An evaluation's grader cannot run on this machine as set up (builder/eval/webbench_grader.py)."""

    status = 503


class ServerUnavailable(ForjaError):
    """Forja is not running where the settings say (the CLI asks it about previews)."""

    status = 503


class NotAnswering(ForjaError):
    """Something this Forja needs (its database, the workers' Redis) does not answer now: the request can be made again
    once it does (builder/outages.py)."""

    status = 503

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class DiskFull(ForjaError):
    """No room left on Forja's disk for what a request would write; nothing of it was kept (507 Insufficient Storage)."""

    status = 507


class ShareGone(ForjaError):
    """A share link cannot be opened: 404 (no such link, as far as anyone may tell) or 410 (revoked, expired)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BudgetExceeded(GenerationError):
    """The next model request could take a budget (per project or per day) past its limit."""

    status = 402


class TextNotFound(ForjaError):
    """A text typed into the preview cannot be found where the page says it came from; nothing is saved."""

    status = 422


class NotSignedIn(ForjaError):
    """Forja has accounts and the request carries no valid sign-in, API token or session."""

    status = 401

    def __init__(self, message: str, come_back_to: str = "") -> None:
        super().__init__(message)
        # The page the person was on, for the sign-in page to return to.
        self.come_back_to = come_back_to


class UnsupportedMediaType(ForjaError):
    """A body of another type than the route takes (text where JSON is expected)."""

    status = 415


class TooLarge(ForjaError):
    """Something sent, or what it would add up to, is over a size or count Forja keeps for it (413 Content Too Large)."""

    status = 413


class Forbidden(ForjaError):
    """The person is signed in, but their role does not allow this; the message says what would."""

    status = 403


class SignInRefused(ForjaError):
    """Wrong email or password, a disabled account, an invitation that does not work: said without saying which secret was wrong."""

    status = 400


class TooManyAttempts(ForjaError):
    """Too many failed checks of a secret (or sign-ups, or tokens) lately: wait `retry_after` seconds."""

    status = 429

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


class LimitReached(ForjaError):
    """A count a setting limits (API tokens per person) is reached; the message names the setting."""

    status = 429


class QuotaExceeded(ForjaError):
    """The person reached one of their quotas (tokens or cost today, previews, projects, storage)."""

    status = 429

    def __init__(self, message: str, quota: str, used: float, limit: float) -> None:
        super().__init__(message)
        self.quota = quota
        self.used = used
        self.limit = limit

    def body(self) -> dict[str, object]:
        return {"detail": self.message, "quota": self.quota, "used": self.used, "limit": self.limit}


class PublishFailed(ForjaError):
    """A publish could not build or keep its release: the app's address still serves what it served before."""

    status = 422

    def __init__(self, message: str, release: int | None = None) -> None:
        super().__init__(message)
        self.release = release

    def body(self) -> dict[str, object]:
        return {"detail": self.message, "release": self.release}


class PublishBlocked(ForjaError):
    """The review found critical problems its owner has not confirmed: the release was built, not made live (the app's
    address still serves what it served). `review` is the review's answer (builder/review/answers.py ReviewInfo)."""

    status = 409

    def __init__(self, message: str, release: int, review: dict[str, Any]) -> None:
        super().__init__(message)
        self.release = release
        self.review = review

    def body(self) -> dict[str, object]:
        return {"detail": self.message, "release": self.release, "review": self.review}


class NameTaken(ForjaError):
    """An app name another project has (or a reserved one)."""

    status = 409


class RulesError(ForjaError):
    """A project's data rules (`.forja/data.json`) that cannot be read: the sentence names the collection or key and
    what to write instead."""

    status = 422


class MailUnavailable(ForjaError):
    """Email that could not be sent: the mail server refused it or did not answer (it may later)."""

    status = 503


class NoMailServer(MailUnavailable):
    """Email asked of a Forja that has no mail server set up (FORJA_SMTP_HOST): nothing will send it until its admin
    sets one up."""

    status = 409


class PageNotRead(ForjaError):
    """A web page the agent was asked to read and did not: an address Forja does not fetch (a private one, a site not
    allowed, a secret in it) or a page that could not be read; the sentence says which, for the person."""

    status = 422


class McpServerUnreachable(ForjaError):
    """A team's MCP server Forja did not reach or that answered wrongly: an address it does not connect to (a private
    one the administrator did not allow), no answer in time, a refused token; the sentence says which."""

    status = 422
