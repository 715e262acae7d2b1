"""A network namespace of the run's own (Linux): ports cannot clash, nothing can leave.

:func:`enter` moves the *calling process itself* into a new network namespace (and, for an
ordinary user, a new user namespace that maps the user to itself), then brings its loopback
interface up. Everything the command starts afterwards — the learner's programs under the
tracer, the grader's peers — inherits it. Inside, the only interface is ``lo`` (127.0.0.1/8,
::1): nominal ports are free (no other program on the machine shares them), and a connect to
any other address fails in the kernel (ENETUNREACH, "Network is unreachable").

Why in-process and not ``unshare(1)`` re-exec: the process keeps its pid, its terminal, its
process group and its signal handling, so Ctrl-C and exit codes need no forwarding; and the
capabilities the new user namespace grants stay with the sockteach process (to bring ``lo`` up
and open an AF_PACKET socket), while the learner's programs, exec'd as the ordinary user,
have none (the kernel drops them at execve for a non-root uid). It needs a single-threaded
process, which the command is when :mod:`sockteach.entry` calls this.

Where the kernel refuses (seccomp in a container, ``kernel.unprivileged_userns_clone=0``,
``user.max_user_namespaces=0``, not Linux) or ``SOCKTEACH_NO_NAMESPACE=1`` forces it,
nothing changes: the run goes on as before (ports remapped, the tracer keeps programs on
loopback) and :func:`fallback_line` says so once.

This module imports only the standard library at load time: ``python3 sandbox.py`` runs
:func:`probe` and prints its answer as JSON (the tests use that as another user).
"""

from __future__ import annotations

import errno as _errno
import os
import socket
import struct
import sys

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
ETH_P_ALL = 0x0003

MARKER = "SOCKTEACH_SANDBOX"  # set once entered: "netns" (a child never enters again)
FORCE_OFF = "SOCKTEACH_NO_NAMESPACE"  # "1": do not try (tests of the fallback path)

_state = {"inside": False, "nominal_ports": False, "true_addresses": False, "reason": None,
          "user": False, "stranded": False}


def inside() -> bool:
    """Whether this process entered its own network namespace (only loopback exists)."""
    return bool(_state["inside"])


def nominal_ports() -> bool:
    """Whether sessions may use the lessons' own ports as they are (no remapping): inside a
    namespace, for a command that runs one session at a time (not ``grade --jobs``)."""
    return bool(_state["inside"] and _state["nominal_ports"])


def true_addresses() -> bool:
    """Whether programs' addresses go to the kernel as they are (``''``, ``0.0.0.0`` and
    ``::`` bound truly, other hosts refused by the kernel, not the tracer): inside a
    namespace, for a command whose results do not depend on it (not ``check``/``grade``,
    whose verdicts must be the same on a machine without namespaces)."""
    return bool(_state["inside"] and _state["true_addresses"])


def stranded() -> bool:
    """Whether :func:`enter` left this process in a namespace where nothing can be reached
    (``lo`` refused to come up and the machine's namespace could not be re-entered): the
    command must stop."""
    return bool(_state["stranded"])


def reason() -> str | None:
    """Why the namespace was not entered (None when it was, or when it was not tried)."""
    return _state["reason"]


class Stranded(OSError):
    """In a new network namespace whose ``lo`` would not come up, with no way back."""


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _unshare(flags: int) -> None:
    import ctypes

    if _libc().unshare(ctypes.c_int(flags)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _map_self(uid: int, gid: int) -> None:
    """Map this user and group to themselves in the new user namespace."""
    try:
        _write("/proc/self/setgroups", "deny")
    except FileNotFoundError:  # kernels before 3.19
        pass
    _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
    _write("/proc/self/gid_map", f"{gid} {gid} 1\n")


def loopback_up() -> None:
    """Bring ``lo`` up with the ioctl ``ip link set lo up`` makes (needs CAP_NET_ADMIN in
    the namespace's user namespace, which :func:`enter` has)."""
    import fcntl

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def unshare_net() -> bool:
    """Move this process into a new network namespace (with a user namespace unless it is
    privileged) and bring ``lo`` up. True on success; OSError when the kernel refuses."""
    if not sys.platform.startswith("linux"):
        raise OSError(_errno.ENOSYS, "network namespaces are Linux's")
    uid, gid = os.getuid(), os.getgid()
    user = False
    home = os.open("/proc/self/ns/net", os.O_RDONLY)  # the way back, should lo not come up
    try:
        try:
            if os.geteuid() != 0:
                raise PermissionError(_errno.EPERM, "not root")
            _unshare(CLONE_NEWNET)  # root with CAP_SYS_ADMIN (CI): no user namespace needed
        except PermissionError:
            _unshare(CLONE_NEWUSER | CLONE_NEWNET)
            user = True
            _map_self(uid, gid)
        _state["user"] = user
        try:
            loopback_up()
        except OSError as exc:
            # A namespace whose lo is down reaches nothing at all: go back to the machine's
            # (possible where CAP_SYS_ADMIN holds over it, as for root), else say so.
            if _libc().setns(home, CLONE_NEWNET) != 0:
                raise Stranded(exc.errno, exc.strerror) from None
            raise
    finally:
        os.close(home)
    return True


def enter(nominal_ports: bool = True, true_addresses: bool = True) -> bool:
    """Enter a namespace of the run's own, once per process tree; True if this process is in
    one now. ``nominal_ports``: sessions of this run may use the lessons' ports as they are;
    ``true_addresses``: the tracer rewrites no address (see :func:`true_addresses`).
    A refusal is remembered (:func:`reason`) and the run goes on as before."""
    policy = {"nominal_ports": nominal_ports, "true_addresses": true_addresses}
    if os.environ.get(MARKER):
        # Started by a sockteach that is already inside one: stay.
        _state.update(inside=os.environ[MARKER] == "netns", **policy)
        return inside()
    if os.environ.get(FORCE_OFF) == "1":
        _state["reason"] = f"{FORCE_OFF}=1"
        return False
    try:
        unshare_net()
    except OSError as exc:
        _state["reason"] = exc.strerror or str(exc)
        _state["stranded"] = isinstance(exc, Stranded)
        return False
    except Exception as exc:  # ctypes missing, an odd platform: never stop the command
        _state["reason"] = str(exc)
        return False
    os.environ[MARKER] = "netns"
    _state.update(inside=True, reason=None, **policy)
    return True


def fallback_line(lang: str) -> str:
    """The one line said when the run could not have its namespace."""
    from .i18n import msg

    return msg("sandbox.fallback", lang, reason=reason() or "?")


def probe() -> dict:
    """What this machine allows, tried in a forked child (this process stays as it is):
    ``netns`` (a user+net namespace, or a net namespace as root), ``loopback`` (lo came up),
    ``packet`` (an AF_PACKET socket on lo inside it), ``unreachable`` (a connect to a
    TEST-NET address there fails with ENETUNREACH), each True or an error string."""
    import json

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: try, write one JSON line, leave without clean-up
        os.close(read)
        answer: dict = {}
        try:
            answer = _probe_here()
        except BaseException as exc:  # noqa: BLE001 — reported, never raised
            answer = {"netns": f"{type(exc).__name__}: {exc}"}
        os.write(write, json.dumps(answer).encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while True:
        chunk = os.read(read, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    try:
        return json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        return {"netns": "the probe gave no answer"}


def _probe_here() -> dict:
    answer: dict = {"uid": os.getuid()}
    if os.environ.get(FORCE_OFF) == "1":
        answer["netns"] = f"{FORCE_OFF}=1"
        return answer
    try:
        unshare_net()
    except OSError as exc:
        answer["netns"] = exc.strerror or str(exc)
        return answer
    answer.update(netns=True, loopback=True, user_namespace=_state["user"])
    try:
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)) as s:
            s.bind(("lo", 0))
        answer["packet"] = True
    except OSError as exc:
        answer["packet"] = exc.strerror or str(exc)
    answer["unreachable"] = no_route_errno()
    return answer


def no_route_errno(address: str = "192.0.2.1", port: int = 9) -> "bool | str":
    """Inside a fresh namespace only: True if a TCP connect to ``address`` (TEST-NET-1, RFC
    5737, routed nowhere) fails at once with ENETUNREACH, else what happened. Call it only
    where :func:`inside` is true — outside, it would try the real network."""
    if not _probe_safe():
        return "not inside a namespace of sockteach's"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        code = s.connect_ex((address, port))
    return True if code == _errno.ENETUNREACH else _errno.errorcode.get(code, str(code))


def _probe_safe() -> bool:
    """Only ``lo`` exists here: the namespace is ours (guard for :func:`no_route_errno`)."""
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return False
    return names == ["lo"]


if __name__ == "__main__":  # python3 sandbox.py: the probe, as JSON (tests as nobody)
    import json

    print(json.dumps(probe()))
