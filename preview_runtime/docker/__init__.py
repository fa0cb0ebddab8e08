"""The Docker runner: each preview in a hardened container on an isolated bridge network (see DESIGN.md).

The package loads nothing itself: its runner (preview_runtime.docker.runner) brings aiodocker and aiohttp, which a
Forja that asks only whether the preview image is there (preview_runtime.docker.image) need not load.
"""
