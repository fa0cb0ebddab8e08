"""What detection found in one folder of a project: the stack's name and how to install and start it."""

from __future__ import annotations

from dataclasses import dataclass, field

from preview_runtime.detect.command import Command


class NotRunnable(ValueError):
    """Forja cannot tell how to run the project; the message is one sentence naming the file and what to do."""


@dataclass
class Found:
    framework: str  # for people: "Vite", "Next.js", "Flask"...
    dev: Command
    install: list[Command] = field(default_factory=list)
    port: int = 3000  # where the tool listens when it ignores the port it is given
    hot_reload: bool = False  # a front-end dev server that updates the open page itself when a file changes (HMR)
    server: bool = False  # runs a backend of its own (not only a dev server for a front end)
    python: bool = False  # needs Python (so not in the browser's WebContainer)
    side_port: int | None = None  # set when this part is an API beside the front end: where it listens
    home_page: bool = False  # its dev command is a front-end framework's dev server, which serves a page at /
    inputs: list[str] = field(default_factory=list)  # files whose content decides the installed dependencies
    notes: list[str] = field(default_factory=list)  # said in the Logs tab when the preview starts
    # Where the start command came from, for people: 'the "dev" script in package.json', "the run line in .replit"...
    source: str = ""
    # Other app folders the person could run instead (a workspace with several apps), for the run settings to offer.
    choices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunOverride:
    """A person's own choice of how their project runs, kept with the project: the folder of the app to run (a
    workspace member, or any folder) and a shell command to start it with instead of the detected one."""

    command: str = ""
    folder: str = ""
