"""Forja as a git server for its projects: git's smart HTTP protocol at /git/<project id>.git.

Each project's history is mirrored into a bare repository under the data folder (`mirror.py`: one commit per
version, brought up to date before each fetch or push); git's own `git http-backend` answers the protocol
(`http.py`), and a push's commits are checked as imports are and become versions (`pushes.py`) from inside the
repository's pre-receive hook (`pre-receive`, in Perl), while they are still in git's quarantine.
"""
