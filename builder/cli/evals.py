"""`python -m builder eval`: run a suite of app tasks through Forja's pipeline and grade the apps (builder/eval/).

It runs on this machine's own Forja, in this process: its previews and its browser are this command's, so it holds the
data folder for its run (builder.data_folder). While a Forja server (or another eval) holds that folder, it runs in a
data folder, preview port and Docker network of its own beside it, and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from builder.cli.command import Command, local_services
from builder.composition import Services
from builder.errors import InvalidInput
from builder.eval.report import summary, words, write_report
from builder.eval.results import load_run
from builder.eval.runner import EvalOptions, EvalRunner
from builder.eval.suite import WEB_BENCH, EvalTask, chosen, load_suite, suite_names
from builder.eval.webbench import load_web_bench

log = logging.getLogger(__name__)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def cmd_eval(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    """Run (or resume) a suite and write its report; with --compare, write two runs side by side."""
    if args.compare:
        first, second = (load_run(run_id) for run_id in args.compare)
        path = write_report(first, second)
        return {"report": str(path)}, f"Wrote {path}"
    mode = "reference" if args.reference else "broken" if args.broken else "model"
    options = EvalOptions(
        suite=args.suite,
        mode=mode,
        provider=args.provider,
        model=args.model,
        repair_rounds=args.repair_rounds,
        parallel=args.parallel,
        task_timeout_s=args.task_timeout,
        max_cost_usd=args.max_cost,
        resume=args.resume,
    )
    tasks = await asyncio.to_thread(_tasks, args)
    run = await EvalRunner(services, options, _say).run(tasks)
    path = write_report(run)
    value = {**run.model_dump(mode="json"), "summary": summary(run).model_dump(mode="json"), "report": str(path)}
    return value, f"{words(run)}\nReport: {path}\nRun id: {run.id} (resume with --resume {run.id})"


def _tasks(args: argparse.Namespace) -> list[EvalTask]:
    if args.suite == WEB_BENCH:
        if not args.path:
            raise InvalidInput("The web-bench suite is read from a checkout of bytedance/web-bench: give its folder with --path.")
        tasks = load_web_bench(Path(args.path).expanduser())
    elif args.path:
        raise InvalidInput(f"--path names a Web-Bench checkout: it goes with --suite {WEB_BENCH}.")
    else:
        tasks = load_suite(args.suite)
    return chosen(tasks, args.task or [], args.limit)


COMMANDS: dict[str, Command[Any]] = {"eval": Command(local_services, cmd_eval, runs_previews=lambda args: not args.compare)}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "eval",
        parents=[common],
        help="run a suite of app tasks through Forja (generation, checks, repairs) and grade each app in a browser",
    )
    p.add_argument("--suite", default="forja-smoke", choices=suite_names(), help="default: forja-smoke")
    p.add_argument("--path", metavar="DIR", help="with --suite web-bench: a checkout of bytedance/web-bench (or one project)")
    p.add_argument("--task", action="append", metavar="ID", help="only this task (repeatable); web-bench's: PROJECT/TASK")
    p.add_argument("--limit", type=int, metavar="N", help="only the suite's first N tasks")
    p.add_argument("--provider", choices=["offline", "anthropic", "openai"], help="default: by which API key is set")
    p.add_argument("--model", help="model name for the provider")
    p.add_argument("--repair-rounds", type=int, default=2, metavar="N", help="most automatic repair rounds (default 2)")
    p.add_argument("--parallel", type=int, default=1, metavar="N", help="tasks at a time (default 1, at most 8)")
    p.add_argument("--task-timeout", type=float, default=600, metavar="S", help="seconds for each app (default 600)")
    p.add_argument("--max-cost", type=float, metavar="USD", help="start no task once the run cost this much")
    p.add_argument("--resume", metavar="RUN_ID", help="go on with a run that stopped: its finished tasks are kept")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--reference", action="store_true", help="grade the suite's reference apps (proves the grader)")
    which.add_argument("--broken", action="store_true", help="grade the references with their entry file emptied")
    which.add_argument("--compare", nargs=2, metavar="RUN_ID", help="write a report of two runs side by side")
