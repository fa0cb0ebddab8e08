"""The Clone dialog's state: the `git clone` command for the page's project and the person.

With accounts, git needs a token: the dialog makes a git token on request (this project only, read or read-write,
expiring) and shows two lines, one that hands it to git's credential store and the clone, never a URL with a token
in it. The token is in this state only while the dialog is open.
"""

from urllib.parse import urlsplit

import reflex as rx

from builder.errors import ForjaError
from builder.git.urls import clone_command
from builder.services.access import Permission
from builder.services.git_tokens import default_days, offered_days
from builder.settings import settings
from builder.state.workspace import WorkspaceState


def days_label(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


class CloneState(rx.State):
    open_dialog: bool = False
    # Without accounts: the plain clone. With them, once a token is made (until the dialog closes): the line that hands
    # it to git's credential store, and the clone that finds it there.
    setup: str = ""
    command: str = ""
    error: str = ""
    # The git token's form: what it may do (push only for editors and owners) and how long it lasts.
    can_push: bool = False
    access: str = "read"
    days: str = ""
    day_choices: rx.Field[list[str]] = rx.field(default_factory=list)
    making: bool = False
    # What the token made may do, on which project and until when, in a sentence.
    made: str = ""

    @rx.event
    async def set_open(self, value: bool) -> None:
        self.open_dialog, self.error, self.setup, self.command, self.made = value, "", "", "", ""
        if not value:
            return
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed()
        except ForjaError as exc:
            self.error = exc.message
            return
        if not allowed.services.accounts.enabled:
            self.command = clone_command(self._base(), workspace.project_id)
            return
        self.can_push = workspace.can_edit
        self.access = "write" if self.can_push else "read"
        self.day_choices = [days_label(days) for days in offered_days()]
        self.days = days_label(default_days())

    @rx.var
    def copied(self) -> str:
        """What Copy puts on the clipboard: every line shown, in order."""
        return "\n".join(line for line in (self.setup, self.command) if line)

    def _base(self) -> str:
        # The address the page was opened at, as the Account page's examples use: it is the one that reaches Forja.
        parts = urlsplit(str(self.router.url))
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else settings.base_url

    @rx.event
    def set_access(self, value: str) -> None:
        self.access = value if value in ("read", "write") else "read"

    @rx.event
    def set_days(self, value: str) -> None:
        self.days = value

    @rx.event
    async def make_token(self):
        self.error, self.making = "", True
        yield
        workspace = await self.get_state(WorkspaceState)
        write = self.access == "write"
        try:
            allowed = await workspace.allowed(Permission.edit if write else Permission.view)
            made = await allowed.services.git_tokens.create(
                allowed.actor, workspace.project_id, self._base(), write=write, days=int(self.days.split()[0])
            )
        except ForjaError as exc:
            self.error = exc.message
        else:
            self.setup, self.command = made.setup, made.clone
            may = "clone, fetch and push" if write else "clone and fetch (not push)"
            self.made = (
                f"The token may {may} this project only, until {made.expires_at:%d %b %Y}. Forja shows it this once; "
                "you see and revoke it on your Account page."
            )
        self.making = False
