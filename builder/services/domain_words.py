"""What the Publish dialog (and the API and CLI) says about an app's custom domain: one sentence for where its proof
and its pointing stand, and what to do next, in words for people who make apps."""

from __future__ import annotations

import enum


class Proof(enum.Enum):
    """What the domain's TXT record showed at the last look."""

    unchecked = "unchecked"  # not looked up now
    found = "found"  # it holds the app's value (or the domain is proved already)
    missing = "missing"  # no such record
    other = "other"  # records there, none with the app's value
    failed = "failed"  # DNS did not answer
    taken = "taken"  # another app proved the name first


NO_ANSWER = "Forja could not ask DNS just now (no answer in time): press Check again in a minute."


def _waiting(domain: str, proof: Proof) -> str:
    if proof is Proof.taken:
        return (
            f"{domain} is already the domain of another app on this Forja: it was proved theirs first. Remove it here, "
            "or ask that app's owner to remove it there."
        )
    if proof is Proof.failed:
        return NO_ANSWER
    if proof is Proof.missing:
        return (
            f"Forja does not see the TXT record of {domain} yet. Add it on your domain provider's DNS page as shown "
            "below; a new record can take a few minutes to an hour to show up."
        )
    if proof is Proof.other:
        return f"The TXT record of {domain} is there, but with another value: give it exactly the value shown below."
    return (
        f"Show that {domain} is yours: add the TXT record below on your domain provider's DNS page, then press Check. "
        "Forja also looks for it by itself every few minutes. Until then, nothing is served there."
    )


def _pointing(domain: str, there: set[str], here: set[str]) -> tuple[bool, str]:
    if there and here and there & here:
        return True, f"{domain} is live: it points here and the app answers there."
    if not there:
        return False, (
            f"{domain} is proved yours, but does not point here yet: add the CNAME record below on your domain "
            "provider's DNS page; it can take a few minutes to an hour to be seen."
        )
    return (
        False,
        f"{domain} is proved yours, but points elsewhere ({', '.join(sorted(there))}): change its CNAME to the one below.",
    )


def detail(domain: str, proof: Proof, pointing: tuple[set[str], set[str]] | None, checked: bool) -> tuple[bool | None, str]:
    """Whether the domain points where the app's address does (None: not known) and the sentence that says where it
    stands. `pointing` is the addresses of both names when `checked`, None when DNS did not answer."""
    if proof is not Proof.found:
        return None, _waiting(domain, proof)
    if not checked:
        return None, (
            f"{domain} is proved yours, and Forja serves the app there. If you have not yet, add the CNAME record below "
            "so that it points here, then press Check."
        )
    if pointing is None:
        return None, NO_ANSWER
    return _pointing(domain, *pointing)
