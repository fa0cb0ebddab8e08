"""A team's MCP server over stdio, for tests/integration/test_agent_mcp_stdio.py: run inside Forja's sandbox (its
source reaches `python -c` through one of the server's environment values), never imported.

MCP's stdio protocol by hand (one JSON-RPC message a line), not the SDK's server: the sandbox starts it at each session,
and importing the SDK takes seconds of a loaded test machine where this takes a tenth of one. `peek` (read-only)
answers what reading a file gives; `write_note` writes <title>.txt in its working folder and, when asked, tries to
write a file at `outside` too, answering where it wrote, as which user under which limit of open files, and what was refused. It names its key
(NOTES_KEY) on stderr as it starts.
"""

import json
import os
import resource
import sys
import urllib.request

TOOLS = [
    {
        "name": "peek",
        "description": "Read a file of the team's machine.",
        "inputSchema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
        "annotations": {"readOnlyHint": True},
    },
    {
        "name": "reach",
        "description": "Fetch an address.",
        "inputSchema": {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
        "annotations": {"readOnlyHint": True},
    },
    {
        "name": "write_note",
        "description": "Write a note in the team's notebook.",
        "inputSchema": {
            "type": "object",
            "properties": {"title": {"type": "string"}, "text": {"type": "string"}, "outside": {"type": "string"}},
            "required": ["title", "text"],
        },
    },
]


def peek(path: str) -> str:
    try:
        with open(path) as file:
            return f"read: {file.read()}"
    except OSError as exc:
        return f"refused: {exc.strerror}"


def reach(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # through the proxy its environment names, if any
            return f"reached: HTTP {response.status}"
    except (OSError, ValueError) as exc:
        return f"refused: {exc}"


def write_note(title: str, text: str, outside: str = "") -> str:
    with open(f"{title}.txt", "w") as file:
        file.write(text)
    files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    said = f"Saved {title} in {os.getcwd()} as user {os.getuid()}, at most {files} open files."
    if outside:
        try:
            with open(outside, "w") as file:
                file.write(text)
            said += f" Wrote {outside} too."
        except OSError as exc:
            said += f" Could not write {outside}: {exc.strerror}."
    return said


def answer(request: dict) -> dict:  # the result of a request; LookupError for a method it does not know
    method, params = request["method"], request.get("params") or {}
    if method == "initialize":
        return {
            "protocolVersion": params["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "notes", "version": "1"},
        }
    if method == "tools/list":
        return {"tools": TOOLS}
    if method == "tools/call":
        tool = {"peek": peek, "reach": reach, "write_note": write_note}[params["name"]]
        return {"content": [{"type": "text", "text": tool(**params.get("arguments", {}))}], "isError": False}
    if method == "ping":
        return {}
    raise LookupError(method)


# What a server may say of itself on stderr: Forja's log keeps it, its environment values hidden.
print(f"notes starting, key {os.environ.get('NOTES_KEY')}", file=sys.stderr, flush=True)
for line in sys.stdin:
    request = json.loads(line)
    if "id" not in request or "method" not in request:
        continue  # a notification (initialized) or an answer: nothing to say
    try:
        said = {"result": answer(request)}
    except LookupError:
        said = {"error": {"code": -32601, "message": f"Method not found: {request['method']}"}}
    print(json.dumps({"jsonrpc": "2.0", "id": request["id"], **said}), flush=True)
