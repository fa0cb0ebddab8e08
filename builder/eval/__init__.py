"""How good Forja's apps are: suites of app tasks run through Forja's own pipeline, graded in a browser.

`suite.py` reads suites (forja-smoke, here; Web-Bench from a checkout), `grader.py` grades one app with a task's own
checks in headless Chromium, `runner.py` runs a suite (a model's apps, or the references to prove the grader) and
keeps its results resumable under the data folder (`results.py`), `report.py` sums them up and writes the HTML report.
The results and the report need no service (the admin's pages read them); the runner and the graders drive the services.
"""
