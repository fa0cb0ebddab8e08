"""The local sandbox's seccomp filter (preview_runtime/local/seccomp.py): every call it means to refuse is one this
machine's libseccomp knows, so none is dropped for a typo, and the filter compiles to BPF that bubblewrap reads from a
file descriptor. What it does to code in a sandbox is tests/integration/test_sandbox_privileges.py's."""

from __future__ import annotations

import os

import pyseccomp

from preview_runtime.local import seccomp


def test_every_refused_call_is_a_real_one() -> None:
    unknown = []
    for name in seccomp.REFUSED:
        number = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
        if number < 0 and name not in ("iopl", "ioperm", "uselib"):  # x86 only: pseudo-numbers elsewhere
            unknown.append(name)
    assert unknown == []


def test_the_filter_is_a_program_read_from_a_descriptor() -> None:
    program = seccomp.compiled()
    assert program and len(program) % 8 == 0  # struct sock_filter: 8 bytes an instruction
    fd = seccomp.filter_fd()
    try:
        assert os.read(fd, len(program) + 1) == program
    finally:
        os.close(fd)
