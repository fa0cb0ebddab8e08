"""External coding agents a project may pick as its engine, run in the local runner's sandbox (local/engine_run.py)."""
