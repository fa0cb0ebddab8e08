"""The seccomp filter of every local sandbox: the system calls that would let its code leave bubblewrap's walls or
reach the kernel's rarer parts, refused with EPERM whoever runs Forja (bubblewrap loads it with `--seccomp FD` just
before it runs the command, so its own setup is not filtered).

Built with libseccomp (through pyseccomp, a binding of the library's own API), not written as BPF by hand: the library
knows each architecture's numbers and adds the architecture check, so a 32-bit system call from a 64-bit process is
killed rather than let through under another number. Everything else is allowed: the walls themselves are the mount
and network namespaces, the read-only binds and the dropped capabilities (sandbox.py); this takes away the calls that
could undo them or attack the kernel from inside.
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile

import pyseccomp

# Mounting, namespaces, tracing, keys, eBPF, perf, kernel modules and kexec, file handles, and the kernel's other doors
# a preview never needs (userfaultfd and io_uring are the usual first steps of a kernel exploit; Docker's default
# profile refuses them too).
REFUSED = (
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "unshare",
    "setns",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "open_by_handle_at",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "syslog",
    "lookup_dcookie",
    "iopl",
    "ioperm",
    "uselib",
    "vhangup",
)
# clone's flags that make a namespace; clone3 passes its flags in memory, which a filter cannot read, so it is
# answered "not implemented" and the C library falls back to clone, whose flags it can (as Docker's profile does).
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
# Pushing bytes into a terminal's input (TIOCSTI) or its console (TIOCLINUX): the terminal tab's shell gets its pty,
# and what it typed there must never be read by something outside.
TERMINAL_IOCTLS = (0x5412, 0x541C)


def describe() -> str:
    """What the filter refuses, in a few words (doctor shows it)."""
    return f"{len(REFUSED) + 2} kinds of system call refused (mount, namespaces, ptrace, keys, eBPF, modules...)"


@functools.cache
def compiled() -> bytes:
    """The filter as BPF bytes for this machine's architecture (built once per process)."""
    refuse = pyseccomp.ERRNO(errno.EPERM)
    rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    for name in REFUSED:
        try:
            rules.add_rule(refuse, name)
        except (ValueError, OSError):
            continue  # a call this architecture does not have (iopl on arm64): nothing to refuse
    for flag in NAMESPACE_FLAGS:
        rules.add_rule(refuse, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag))
    rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    for request in TERMINAL_IOCTLS:
        rules.add_rule(refuse, "ioctl", pyseccomp.Arg(1, pyseccomp.MASKED_EQ, 0xFFFFFFFF, request))
    with tempfile.TemporaryFile() as out:
        rules.export_bpf(out)
        out.seek(0)
        return out.read()


def memory_fd(name: str, data: bytes) -> int:
    """A new file descriptor of a file in memory holding `data`, at its start, for one bubblewrap to read
    (`--seccomp FD`, `--ro-bind-data FD PATH`): nothing of it touches the disk. The caller passes it to the child
    (pass_fds) and closes it after the start."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    try:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def filter_fd() -> int:
    """A new file descriptor holding the filter (`--seccomp FD` reads it to the end)."""
    return memory_fd("forja-seccomp", compiled())
