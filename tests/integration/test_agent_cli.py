"""Agent mode from the CLI: `generate "PROMPT" --project ID --agent` prints each step as it is done (in --json, lists
them), and `agent approve`, `agent accept` and `agent reject` decide a waiting change, on this machine's database and
against a Forja server over HTTP with a token.

The model's tool calls come from a ScriptedLLMServer reached by the real SDKs. The runs use only the tools that work on
the draft in memory (list, read, edit, finish), so no preview is needed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from builder.services.access import no_such_project
from tests.conftest import TEST_ANTHROPIC_KEY
from tests.integration.test_cli import Cli, write_folder
from tests.integration.test_cli_remote import PASSWORD, served_forja
from tests.llm_server import ScriptedLLMServer, ToolAnswer

BUGGY = b"module.exports = { next: (n) => n + 2 };\n"
TALLY = {"index.html": b"<!doctype html>\n<h1>Tally</h1>\n<script src='logic.js'></script>\n", "logic.js": BUGGY}
NOT_WAITING = "This change is not waiting for approval any more (it was {outcome})."


def call(tool: str, **arguments: Any) -> ToolAnswer:
    return ToolAnswer(arguments, tool_name=tool)


def model_settings(llm: ScriptedLLMServer) -> dict[str, str]:
    """The settings that point Forja's Claude provider at the scripted server."""
    return {
        "ANTHROPIC_API_KEY": TEST_ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": llm.anthropic_base_url,
        "FORJA_RETRY_BASE_DELAY_S": "0.01",
    }


def fix_the_count(llm: ScriptedLLMServer) -> None:
    llm.queue(
        call("list_files"),
        call("read_file", path="logic.js"),
        call("edit_file", path="logic.js", search="n + 2", replace="n + 1"),
        call("finish", summary="Add one now adds one."),
    )


AGENT = ("--agent", "--no-verify")


def test_an_agent_follow_up_prints_its_steps_and_saves_one_version(tmp_path: Path, llm_server: ScriptedLLMServer) -> None:
    cli = Cli(tmp_path / "data", **model_settings(llm_server))
    project = cli.ok("import", str(write_folder(tmp_path / "tally", TALLY))).strip()

    fix_the_count(llm_server)
    out = cli.json("generate", "The Add button adds two; fix it", "--project", project, *AGENT)
    assert (out["id"], out["version"], out["summary"], out["awaiting"]) == (project, 2, "Add one now adds one.", False)
    assert isinstance(out["generation_id"], int)
    assert [(s["number"], s["tool"], s["label"], s["ok"]) for s in out["steps"]] == [
        (1, "list_files", "Listed 2 files", True),
        (2, "read_file", "Read logic.js", True),
        (3, "edit_file", "Edited logic.js", True),
    ]
    assert [v["number"] for v in cli.json("history", project)] == [1, 2]  # one version for the whole run
    assert all(r.body["tool_choice"] == {"type": "any"} for r in llm_server.requests)

    # Without --json each step is a line on stderr as it is done, a failed one marked; the usual ending on stdout.
    llm_server.queue(
        call("edit_file", path="logic.js", search="no such text", replace="x"),
        call("read_file", path="logic.js"),
        call("edit_file", path="logic.js", search="n + 1", replace="n + 1 /* one */"),
        call("finish", summary="Marked the step."),
    )
    done = cli.run("generate", "Mark the step", "--project", project, *AGENT)
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("  ")] == [
        "  step 1 ✗ Edit file logic.js",
        "  step 2 ✓ Read logic.js",
        "  step 3 ✓ Edited logic.js",
    ]
    assert done.stdout.startswith(f"{project}  version 3: Marked the step.")

    # Agent mode is for an app that exists, and needs a model that uses tools; both are said before anything runs.
    assert cli.refused("generate", "A tally", "--agent") == "--agent changes an app that exists: give its id with --project."
    offline = cli.refused("generate", "Fix it", "--project", project, "--provider", "offline", *AGENT)
    assert offline.startswith("Agent mode needs a model that can use tools")
    assert [v["number"] for v in cli.json("history", project)] == [1, 2, 3]


def test_approve_changes_holds_a_run_until_accept_or_reject(tmp_path: Path, llm_server: ScriptedLLMServer) -> None:
    cli = Cli(tmp_path / "data", **model_settings(llm_server))
    project = cli.ok("import", str(write_folder(tmp_path / "tally", TALLY))).strip()
    assert cli.json("agent", "approve", project, "on") == {"id": project, "approve_changes": True}

    fix_the_count(llm_server)
    out = cli.json("generate", "Fix the count", "--project", project, *AGENT)
    run = out["generation_id"]
    assert (out["version"], out["awaiting"], len(out["steps"])) == (None, True, 3)
    assert [v["number"] for v in cli.json("history", project)] == [1]  # nothing saved yet

    assert cli.ok("agent", "accept", project, str(run)) == "Saved as version 2.\n"
    assert [v["number"] for v in cli.json("history", project)] == [1, 2]  # the accepted change is a version
    assert cli.refused("agent", "accept", project, str(run)) == NOT_WAITING.format(outcome="saved")
    assert cli.refused("agent", "reject", project, str(run)) == NOT_WAITING.format(outcome="saved")

    # A second run, printed as waiting, then rejected: no version.
    llm_server.queue(call("edit_file", path="logic.js", search="n + 1", replace="n + 3"), call("finish", summary="Three."))
    waiting = cli.run("generate", "Add three", "--project", project, *AGENT)
    assert waiting.returncode == 0, waiting.stderr
    said = re.fullmatch(
        rf"{project}  run (\d+), waiting for approval: Three\.\nWaiting for your approval.*", waiting.stdout, re.S
    )
    assert said is not None, waiting.stdout
    second = int(said[1])
    assert f"python -m builder agent accept {project} {second}" in waiting.stdout
    assert cli.json("agent", "reject", project, str(second)) == {"id": project, "generation_id": second, "rejected": True}
    assert cli.refused("agent", "accept", project, str(second)) == NOT_WAITING.format(outcome="rejected")
    assert [v["number"] for v in cli.json("history", project)] == [1, 2]

    assert cli.ok("agent", "approve", project, "off").startswith("Approve changes is off")
    assert cli.refused("agent", "accept", project, "999999") == f"Project {project} has no generation 999999."
    assert cli.refused("agent", "approve", "nope", "on") == no_such_project("nope").message


def test_a_run_that_asks_prints_its_questions_and_agent_answer_goes_on(tmp_path: Path, llm_server: ScriptedLLMServer) -> None:
    cli = Cli(tmp_path / "data", **model_settings(llm_server))
    project = cli.ok("import", str(write_folder(tmp_path / "tally", TALLY))).strip()
    asked = [{"question": "Step by how much?", "options": ["One", "Two"], "other": False}]
    llm_server.queue(call("read_file", path="logic.js"), call("ask", questions=asked))
    done = cli.run("generate", "Fix the step", "--project", project, *AGENT)
    assert done.returncode == 0, done.stderr
    run = re.search(rf"agent answer {project} (\d+) \"ANSWER 1\"", done.stdout)
    assert run is not None and "  1. Step by how much?\n     - One\n     - Two" in done.stdout, done.stdout
    assert [v["number"] for v in cli.json("history", project)] == [1]  # it changed nothing, so nothing was saved

    assert cli.refused("agent", "answer", project, run[1], "Three", "--no-verify").startswith(
        "The answer to question 1 is one of"
    )
    llm_server.queue(call("edit_file", path="logic.js", search="n + 2", replace="n + 1"), call("finish", summary="One."))
    out = cli.json("agent", "answer", project, run[1], "One", "--no-verify")
    assert (out["version"], out["questions"], [s["label"] for s in out["steps"]]) == (2, [], ["Edited logic.js"])
    assert "Step by how much? One" in str(llm_server.requests[-2].body["messages"][0])
    assert cli.refused("agent", "answer", project, run[1], "One", "--no-verify").startswith(
        "This agent run has no questions waiting"
    )


def test_agent_mode_through_a_forja_server(tmp_path: Path, llm_server: ScriptedLLMServer) -> None:
    # Its accepted changes are not checked here (that is test_agent_mode's): the server runs no preview.
    with served_forja(tmp_path, **model_settings(llm_server), FORJA_VERIFY_GENERATIONS="false") as server:
        operator = server.operator
        operator.ok("user", "create", "ana@example.org", "--password-stdin", input=PASSWORD)
        operator.ok("user", "create", "bo@example.org", "--password-stdin", input=PASSWORD)
        ana = operator.ok("token", "create", "ana@example.org").strip()
        bo = operator.ok("token", "create", "bo@example.org").strip()
        laptop = Cli(tmp_path / "laptop-data", FORJA_SERVER=server.url)  # no key of its own: the server asks the model
        project = laptop.json("import", str(write_folder(tmp_path / "tally", TALLY)), token=ana)["id"]

        fix_the_count(llm_server)
        out = laptop.json("generate", "Fix the count", "--project", project, *AGENT, token=ana)
        assert (out["version"], out["awaiting"]) == (2, False)
        assert [s["label"] for s in out["steps"]] == ["Listed 2 files", "Read logic.js", "Edited logic.js"]

        assert laptop.json("agent", "approve", project, "on", token=ana)["approve_changes"] is True
        llm_server.queue(call("edit_file", path="logic.js", search="n + 1", replace="n + 3"), call("finish", summary="Three."))
        waiting = laptop.json("generate", "Add three", "--project", project, *AGENT, token=ana)
        assert (waiting["version"], waiting["awaiting"]) == (None, True)
        run = str(waiting["generation_id"])

        # Bo has no role in the project: to him it is not there, whatever he asks.
        unknown = no_such_project(project).message
        assert laptop.refused("agent", "accept", project, run, token=bo) == unknown
        assert laptop.refused("agent", "approve", project, "off", token=bo) == unknown
        assert laptop.refused("generate", "Mine now", "--project", project, *AGENT, token=bo) == unknown

        assert laptop.json("agent", "accept", project, run, token=ana)["version"] == 3
        assert laptop.refused("agent", "reject", project, run, token=ana) == NOT_WAITING.format(outcome="saved")
        assert [v["number"] for v in laptop.json("history", project, token=ana)] == [1, 2, 3]
