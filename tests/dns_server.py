"""A small authoritative DNS server on 127.0.0.1 (UDP), written with dnspython's message API: it answers the records a
test sets (TXT, A, AAAA, CNAME, followed once), NXDOMAIN for a name it has none of. Tests point FORJA_DNS_RESOLVER at
it, so no DNS question leaves this machine."""

from __future__ import annotations

import socket
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset


def _key(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _txt(value: str) -> str:
    """A TXT record's text form: strings of 255 characters at most, quoted, as DNS splits a longer value."""
    parts = [value[start : start + 255] for start in range(0, max(len(value), 1), 255)]
    return " ".join('"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"' for part in parts)


class LocalDNS:
    def __init__(self) -> None:
        self._records: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.asked: list[tuple[str, str]] = []  # every question, (name, type), in order
        self._thread = threading.Thread(target=self._serve, name="local-dns", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """As FORJA_DNS_RESOLVER takes it."""
        return f"127.0.0.1:{self.port}"

    def set(self, name: str, rdtype: str, *values: str) -> None:
        """`name` answers these `rdtype` records (TXT values as plain strings), in place of any it had."""
        texts = [_txt(value) for value in values] if rdtype == "TXT" else values
        with self._lock:
            self._records[(_key(name), rdtype)] = list(texts)

    def forget(self, name: str) -> None:
        """`name` has no records any more (NXDOMAIN)."""
        with self._lock:
            self._records = {key: value for key, value in self._records.items() if key[0] != _key(name)}

    def clear(self) -> None:
        """No name has records any more: what one test set never answers the next (the server lives for the session)."""
        with self._lock:
            self._records = {}

    def close(self) -> None:
        self._socket.close()

    def _serve(self) -> None:
        while True:
            try:
                wire, client = self._socket.recvfrom(4096)
            except OSError:
                return  # closed
            try:
                answer = self._answer(dns.message.from_wire(wire))
            except Exception:  # a malformed question gets no answer, as from a real server
                continue
            self._socket.sendto(answer.to_wire(), client)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name, rdtype = _key(question.name.to_text()), dns.rdatatype.to_text(question.rdtype)
        with self._lock:
            self.asked.append((name, rdtype))
            records = dict(self._records)
        if not any(known == name for known, _ in records):
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        owner = question.name
        if rdtype != "CNAME" and (alias := records.get((name, "CNAME"))):
            response.answer.append(dns.rrset.from_text(owner, 60, "IN", "CNAME", *alias))
            owner, name = dns.name.from_text(alias[0]), _key(alias[0])
        if values := records.get((name, rdtype)):
            response.answer.append(dns.rrset.from_text(owner, 60, "IN", rdtype, *values))
        return response
