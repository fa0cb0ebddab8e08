"""Forja as its clients reach it: a `Backend` (`backend.py`) that the CLI's commands, the MCP server over stdio and the
API's MCP endpoint all call, answered on this machine through the services (`local.py`) or by a Forja's HTTP API
(`remote.py`)."""
