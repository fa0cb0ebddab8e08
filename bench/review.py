"""The review before publish, timed: prints figures, asserts nothing.

Forja's own services (a temporary SQLite store and data folder, the local runner behind Traefik, installs offline from
the starters' npm seed), as bench/publish.py sets them up. For each subject, --runs publishes of a new project each:
the review's time (its reading of the release's files and every check; the packages check asks the registries the
settings name, so run it with them on a mirror on this machine, or with FORJA_REVIEW_NPM_REGISTRY on a closed port
to time the rest) against the publish's build time in the same publish (release.build_s), and the ratio per publish
(target: under 0.5). Then the same version reviewed on demand again (its built files kept).

  react     the React starter (npm ci offline, vite build): the built files of its release.
  express   the Express starter, a server app: the files it serves from its static and public folders, and its doors
            probed in a scratch sandbox. At publish that sandbox starts beside the release's (ReviewService.ahead), so
            the review's time is what is left of it at the gate and the build's time includes the two starts side by
            side; the review on demand starts it alone (its time is in the last column).

    .venv/bin/python bench/review.py [--runs 3] [--subjects react,express]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.publish import configure  # noqa: E402
from builder.composition import Services, get_services  # noqa: E402
from builder.generation.starters import StarterVariables, load_starters, render_starter  # noqa: E402
from builder.models import LOCAL_USER_ID  # noqa: E402

SUBJECTS = {"react": "react-vite-tailwind", "express": "express-api"}


def starter_files(name: str, title: str) -> dict[str, bytes]:
    starter = next(s for s in load_starters() if s.name == name)
    return {path: text.encode() for path, text in render_starter(starter, StarterVariables(title=title)).items()}


async def subject_figures(services: Services, name: str, runs: int) -> None:
    ratios, reviews, builds, again = [], [], [], []
    for run in range(runs):
        files = starter_files(SUBJECTS[name], f"Review bench {run}")
        pid = (await services.projects.create(f"Review bench {name} {run}", files, owner=LOCAL_USER_ID)).project_id
        published = await services.publishing.publish(pid, user_id=LOCAL_USER_ID)
        assert published.review is not None
        review_s, build_s = published.review.duration_s, published.release.build_s or 0.0
        reviews.append(review_s)
        builds.append(build_s)
        ratios.append(review_s / build_s if build_s else float("nan"))
        started = time.monotonic()
        await services.reviews.review(pid)
        again.append(time.monotonic() - started)
        found = ", ".join(f"{f.finding.check}/{f.finding.severity}" for f in published.review.findings) or "none"
        print(f"  {name} #{run + 1}: review {review_s:.3f} s, build {build_s:.1f} s, findings: {found}", flush=True)
    print(
        f"| {name} | {statistics.median(reviews):.3f} | {statistics.median(builds):.1f} | "
        f"{statistics.median(ratios):.3f} | {statistics.median(again):.3f} |",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="publishes per subject, each of a new project")
    parser.add_argument("--subjects", default="react,express", help=f"of {', '.join(SUBJECTS)}")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="forja-bench-review-"))
    configure(work)
    services = await get_services()
    try:
        await services.preview_hub.manager()
        print("| subject | review s (p50) | build s (p50) | review/build (p50) | on demand again s (p50) |")
        print("| --- | --- | --- | --- | --- |", flush=True)
        for name in args.subjects.split(","):
            await subject_figures(services, name.strip(), args.runs)
    finally:
        await services.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
