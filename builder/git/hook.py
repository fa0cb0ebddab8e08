"""The pre-receive hook of every project's mirror: asks the Forja that runs this push whether to take it.

git runs it with the pushed objects still in quarantine and the ref updates on stdin. It sends both to the socket
Forja opened for this push (FORJA_GIT_HOOK), prints Forja's answer to stderr (the pusher sees it as `remote: ...`)
and exits 0 to take the push, 1 to refuse it. Standard library only: it runs outside Forja's process.
"""

import json
import os
import socket
import sys

ENV = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH")


def main() -> int:
    address = os.environ.get("FORJA_GIT_HOOK")
    if not address:
        sys.stderr.write("This repository takes pushes only through Forja.\n")
        return 1
    updates = [line.split() for line in sys.stdin.read().splitlines() if line.strip()]
    request = {"updates": updates, "env": {k: os.environ[k] for k in ENV if k in os.environ}}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(address)
        conn.sendall(json.dumps(request).encode() + b"\n")
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    reply = json.loads(answer or b'{"ok": false, "message": "Forja did not answer; try again."}')
    if reply.get("message"):
        sys.stderr.write(reply["message"].rstrip("\n") + "\n")
    return 0 if reply.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
