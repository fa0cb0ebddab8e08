"""What Forja knows of WebContainers, and how it says it (doctor, the /doctor page, the admin page's Health).

A WebContainer boots in each visitor's browser, never on this server, and loads its runtime from StackBlitz's servers:
no check here can say it works. The evidence is what browsers report in the projects' logs as they try
(assets/forja_preview.jsx sends these lines): a boot, or a fallback to the server runner and why.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from preview_runtime.logs import LogLine

SOURCE = "webcontainer"
BOOTED = "WebContainer booted in this browser"
FELL_BACK = "Falling back to the server runner."
TIMED_OUT = "did not boot within"
# The boots counted: the latest ones, so an old success does not vouch for today.
LAST = 20

WHERE = "Runs in each visitor's browser, not on this server, and loads its runtime from StackBlitz's servers (internet)"


class BootTally(BaseModel):
    """The latest boots browsers reported, oldest first counted out."""

    booted: int = 0
    fell_back: int = 0
    timed_out: int = 0
    last_booted: bool | None = None  # None: no boot reported
    last_reason: str = ""  # why the latest fallback fell back

    @property
    def seen(self) -> int:
        return self.booted + self.fell_back


def tally(lines: Iterable[LogLine]) -> BootTally:
    """The last LAST boots among `lines` (oldest first). A tab that failed once says so again on each start without
    trying (see forja_preview.jsx): that is not a boot, and is not counted."""
    outcomes: list[tuple[bool, str]] = []
    for line in lines:
        if line.source != SOURCE:
            continue
        if line.text.startswith(BOOTED):
            outcomes.append((True, ""))
        elif line.text.startswith("WebContainer: ") and line.text.endswith(FELL_BACK):
            outcomes.append((False, line.text.removeprefix("WebContainer: ").removesuffix(FELL_BACK).strip(" .")))
    outcomes = outcomes[-LAST:]
    fell_back = [reason for booted, reason in outcomes if not booted]
    return BootTally(
        booted=len(outcomes) - len(fell_back),
        fell_back=len(fell_back),
        timed_out=sum(TIMED_OUT in reason for reason in fell_back),
        last_booted=outcomes[-1][0] if outcomes else None,
        last_reason=fell_back[-1] if fell_back else "",
    )


def describe(boots: BootTally | None) -> str:
    """The sentence for doctor and the admin page: where it runs, then what the browsers reported, if anything."""
    if boots is None:
        return f"{WHERE}: only a running Forja hears from the browsers whether it boots; otherwise a server runner takes over."
    if not boots.seen:
        return f"{WHERE}: no browser has tried one here yet, so whether it works is not known; where it cannot boot, a server runner takes over."
    fell = f"{boots.fell_back} fell back to the server runner"
    if boots.timed_out:
        fell += f" ({boots.timed_out} after a timeout)"
    last = "the last one booted" if boots.last_booted else f"the last one fell back: {boots.last_reason}"
    return f"{WHERE}. Last boots here: {boots.booted} booted, {fell}; {last}."
