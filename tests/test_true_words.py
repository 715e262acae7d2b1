"""True words: narration and diagnosis follow what the socket is and what the kernel did.

All in memory, on hand-made version-2 event sequences shaped like the ones the tracer emits
(see the docstring of sockteach/events.py): the socket's facts on every socket event,
structured addresses, byte counts and previews, what close() sent.
"""

from __future__ import annotations

import pytest

from sockteach.diagnose import diagnose
from sockteach.events import Event
from sockteach.model import Timeline
from sockteach.narrator import Narrator, narrate

TCP = dict(family="AF_INET", socktype="SOCK_STREAM")
TCP6 = dict(family="AF_INET6", socktype="SOCK_STREAM")
UDP = dict(family="AF_INET", socktype="SOCK_DGRAM")
UNIX = dict(family="AF_UNIX", socktype="SOCK_STREAM")
PID = {"server": 100, "client": 200, "client2": 300}


def E(t: float, side: str, kind: str, facts: dict | None = None, **fields: object) -> Event:
    if "args" in fields:
        fields["args"] = tuple(fields["args"])  # type: ignore[arg-type]
    if kind in ("call", "raise") and facts is not None and "mode" not in fields:
        fields["mode"] = "blocking"
    return Event(t=t, side=side, kind=kind, pid=PID.get(side), **(facts or {}),
                 **fields)  # type: ignore[arg-type]


def said(event: Event, lang: str = "en") -> str:
    text = narrate(event, lang)
    assert text is not None
    return text


# ---------------------------------------------------------------- close(): FIN, RST, nothing


def close(**fields: object) -> Event:
    facts = fields.pop("facts", TCP)
    return E(5.0, "server", "call", facts, name="close", args=[], sock=4, **fields)


def test_close_of_an_idle_connection_sends_fin() -> None:
    text = said(close(wire="FIN"))
    assert "the kernel sends FIN" in text and "recv() returns b''" in text
    assert "RST" not in text
    assert "内核发出 FIN" in said(close(wire="FIN"), "zh")


def test_close_with_unread_bytes_is_an_rst_and_says_why() -> None:
    text = said(close(wire="RST", unread=5))
    assert "5 bytes still unread" in text and "RST instead of FIN" in text
    assert "ConnectionResetError" in text and "discards" in text
    assert "sends FIN;" not in text
    zh = said(close(wire="RST", unread=5), "zh")
    assert "还有 5 字节没有读" in zh and "RST 而不是 FIN" in zh


def test_close_with_so_linger_zero_is_an_rst() -> None:
    text = said(close(wire="RST", linger=(1, 0), unread=0))
    assert "SO_LINGER (1, 0)" in text and "RST at once instead of FIN" in text


def test_close_of_udp_and_of_af_unix_send_no_fin() -> None:
    udp = said(close(facts=UDP, wire="none"))
    assert "UDP" in udp and "FIN" not in udp and "nothing goes on the wire" in udp
    unix = said(close(facts=UNIX, wire="eof"))
    assert "b'' (end of file)" in unix and "no segment exists" in unix and "FIN" not in unix


def test_close_while_a_makefile_file_holds_the_socket_sends_nothing_until_released() -> None:
    held = said(close(wire="none", held="makefile"))
    assert "makefile() file still holds the socket" in held and "nothing is sent yet" in held
    assert "FIN" not in held
    released = said(close(wire="FIN", held="released"))
    assert "the last makefile() file let go" in released and "FIN" in released


def test_a_version_1_close_does_not_claim_a_fin() -> None:
    old = said(Event(t=1.0, side="server", kind="call", name="close", args=()))
    assert "does not say what the kernel sent" in old


# ---------------------------------------------------------------- AF_UNIX


PATH = "/tmp/echo.sock"


def test_af_unix_connect_and_accept_have_no_handshake() -> None:
    connect = said(E(1.0, "client", "call", UNIX, name="connect", args=[repr(PATH)], sock=3,
                     addr=PATH))
    assert "no three-way handshake" in connect and PATH in connect
    assert "the three-way handshake with the server" not in connect
    accepted = said(E(1.1, "server", "return", UNIX, name="accept", sock=3, conn=5, addr="",
                      result="(<socket fd=5>, '')"))
    assert "no handshake" in accepted and "fd 5" in accepted
    assert "没有握手" in narrate(E(1.1, "server", "return", UNIX, name="accept", sock=3,
                                   conn=5, addr="", result="x"), "zh")


def unix_bind_fails() -> list[Event]:
    return [E(0.1, "server", "call", UNIX, name="bind", args=[repr(PATH)], sock=3, addr=PATH),
            E(0.2, "server", "raise", UNIX, name="bind", sock=3, error="OSError", errno=98,
              errname="EADDRINUSE", message="[Errno 98] Address already in use")]


def test_af_unix_bind_errno_98_is_a_stale_socket_file_not_time_wait() -> None:
    narrator = Narrator()
    lines = [narrator(e) for e in unix_bind_fails()]
    assert f"the socket file {PATH} already exists" in lines[1]
    assert "TIME_WAIT" not in lines[1]
    [d] = diagnose(unix_bind_fails())
    assert d.key == "in_use" and PATH in d.text and "port ?" not in d.text
    assert "os.unlink(path)" in d.next_step and "stat.S_ISSOCK" in d.next_step
    assert "setsockopt" not in d.next_step
    [zh] = diagnose(unix_bind_fails(), "zh")
    assert "套接字文件" in zh.text and "os.unlink" in zh.next_step


def test_af_unix_connect_refused_is_about_the_socket_file() -> None:
    events = [E(0.1, "client", "call", UNIX, name="connect", args=[repr(PATH)], sock=3,
                addr=PATH),
              E(0.2, "client", "raise", UNIX, name="connect", sock=3,
                error="ConnectionRefusedError", errno=111, errname="ECONNREFUSED",
                message="[Errno 111] Connection refused")]
    [d] = diagnose(events)
    assert d.key == "refused" and f"socket file {PATH}" in d.text and "port" not in d.text
    assert "nothing listens on that socket file" in said(events[1])


# ---------------------------------------------------------------- non-blocking and timeouts


def test_a_non_blocking_recv_returns_at_once() -> None:
    text = said(E(1.0, "server", "call", TCP, name="recv", args=["1024"], sock=4, size=1024,
                  mode="nonblocking"))
    assert "returns at once" in text and "BlockingIOError" in text
    assert "waits (blocks)" not in text
    assert "立即返回" in said(E(1.0, "server", "call", TCP, name="recv", args=["1024"],
                                sock=4, size=1024, mode="nonblocking"), "zh")


def test_a_timeout_socket_waits_at_most_its_timeout() -> None:
    recv = said(E(1.0, "server", "call", TCP, name="recv", args=["1024"], sock=4, size=1024,
                  mode="timeout", timeout=2.0))
    assert "waits at most 2 s" in recv and "waits (blocks)" not in recv
    accept = said(E(1.0, "server", "call", TCP, name="accept", args=[], sock=3,
                    mode="timeout", timeout=0.5))
    assert "waits at most 0.5 s" in accept
    raised = said(E(1.5, "server", "raise", TCP, name="accept", sock=3, error="TimeoutError",
                    message="timed out", mode="timeout", timeout=0.5))
    assert "the timeout (0.5 s) ran out" in raised


def nonblocking_connect(refused: bool = True) -> list[Event]:
    addr = ("127.0.0.1", 8081)
    return [
        E(1.0, "client", "call", TCP, name="connect", args=[repr(addr)], sock=3, addr=addr,
          real=("127.0.0.1", 40123), mode="nonblocking"),
        E(1.01, "client", "raise", TCP, name="connect", sock=3, error="BlockingIOError",
          errno=115, errname="EINPROGRESS", message="[Errno 115] Operation now in progress",
          mode="nonblocking"),
        E(1.02, "client", "call", TCP, name="getsockopt", args=["1", "4"], sock=3,
          mode="nonblocking"),
        E(1.03, "client", "return", TCP, name="getsockopt", sock=3,
          result="111" if refused else "0"),
    ]


def test_a_non_blocking_connect_is_in_progress_and_refused_later() -> None:
    narrator = Narrator()
    call, raised, _, so_error = [narrator(e) for e in nonblocking_connect()]
    assert "returns at once" in call and "EINPROGRESS" in call
    assert "not a failure" in raised and "SO_ERROR" in raised
    assert "refused" in so_error and "ECONNREFUSED" in so_error
    [d] = diagnose(nonblocking_connect())
    assert d.key == "refused" and d.t == 1.03 and "127.0.0.1:8081" in d.text
    assert diagnose(nonblocking_connect(refused=False)) == []


def test_connect_ex_in_progress() -> None:
    text = said(E(1.0, "client", "return", TCP, name="connect_ex", sock=3, result="115"))
    assert "115 (EINPROGRESS)" in text and "not a failure" in text


# ---------------------------------------------------------------- IPv6 and substitutions


def v6_server_v4_client(nominal_host: str = "::1") -> list[Event]:
    return [
        E(0.1, "server", "call", TCP6, name="bind", args=[repr((nominal_host, 8081))], sock=3,
          addr=(nominal_host, 8081, 0, 0), real=("::1", 40123, 0, 0)),
        E(0.11, "server", "return", TCP6, name="bind", sock=3, result="None",
          local=("::1", 8081, 0, 0)),
        E(0.12, "server", "call", TCP6, name="listen", args=["5"], sock=3),
        E(0.13, "server", "return", TCP6, name="listen", sock=3, result="None",
          real=("::1", 40123, 0, 0)),
        E(0.2, "client", "call", TCP, name="connect", args=["('127.0.0.1', 8081)"], sock=3,
          addr=("127.0.0.1", 8081), real=("127.0.0.1", 40123)),
        E(0.21, "client", "raise", TCP, name="connect", sock=3, error="ConnectionRefusedError",
          errno=111, errname="ECONNREFUSED", message="[Errno 111] Connection refused"),
    ]


def test_v6_addresses_read_with_brackets_and_accept_names_the_peer() -> None:
    text = said(E(1.0, "server", "return", TCP6, name="accept", sock=3, conn=5,
                  addr=("::1", 51234, 0, 0), result="(<socket fd=5>, ('::1', 51234, 0, 0))"))
    assert "from [::1]:51234" in text and "fd 5" in text and "<socket" not in text
    tl = Timeline.from_events([E(1.0, "server", "return", TCP6, name="accept", sock=3,
                                 conn=5, addr=("::1", 51234, 0, 0), result="(<socket …>)")])
    assert [r.text for r in tl.rows] == ["accept() → fd 5 from [::1]:51234"]


def test_a_v4_client_refused_by_a_v6_server_is_a_family_mismatch() -> None:
    [d] = diagnose(v6_server_v4_client())
    assert d.key == "refused"
    assert "[::1]:8081 (AF_INET6)" in d.text and "is AF_INET" in d.text
    assert "On which port" not in d.text and "::ffff" not in d.text
    assert "AF_INET6" in d.next_step
    [zh] = diagnose(v6_server_v4_client(), "zh")
    assert "地址族" in zh.next_step


def test_a_wildcard_v6_server_moved_to_loopback_is_said_at_bind_and_in_the_diagnosis() -> None:
    events = v6_server_v4_client("::")
    bind = said(events[0])
    assert "instead of ::" in bind and "IPv4 client is now refused" in bind
    assert "::ffff:127.0.0.1" in bind
    [d] = diagnose(events)
    assert "Without sockteach" in d.text and "moved it to ::1" in d.text


def test_a_wildcard_v4_bind_moved_to_loopback_is_said() -> None:
    bind = E(0.1, "server", "call", TCP, name="bind", args=["('', 8081)"], sock=3,
             addr=("", 8081), real=("127.0.0.1", 40123))
    text = said(bind)
    assert "binds it to 127.0.0.1 instead of ''" in text and "loopback-only" in text
    assert "为了安全" in said(bind, "zh")


def test_a_mapped_port_is_said_once_per_port() -> None:
    addr, real = ("127.0.0.1", 8081), ("127.0.0.1", 40123)
    events = [E(0.1, "server", "call", TCP, name="bind", args=[repr(addr)], sock=3,
                addr=addr, real=real),
              E(0.2, "client", "call", TCP, name="connect", args=[repr(addr)], sock=3,
                addr=addr, real=real)]
    lines = [line.text for line in Timeline.from_events(events).narration]
    note = "sockteach runs port 8081 on 40123; the program still sees 8081."
    assert lines[0].endswith(note) and note not in lines[1]


# ---------------------------------------------------------------- errno 98, 107, RST


def in_use_events() -> list[Event]:
    addr = ("127.0.0.1", 8081)
    return [E(0.1, "server", "call", TCP, name="bind", args=[repr(addr)], sock=3, addr=addr,
              real=("127.0.0.1", 40123)),
            E(0.2, "server", "raise", TCP, name="bind", sock=3, error="OSError", errno=98,
              errname="EADDRINUSE", message="[Errno 98] Address already in use"),
            E(0.3, "kernel", "tcp", states=(
                ("127.0.0.1:8081", "127.0.0.1:51234", "FIN_WAIT2"),
                ("127.0.0.1:51234", "127.0.0.1:8081", "CLOSE_WAIT")))]


def test_errno_98_with_fin_wait2_is_the_stopped_server_with_a_client_still_connected() -> None:
    [d] = diagnose(in_use_events())
    assert d.key == "in_use" and "FIN_WAIT2" in d.text and "still connected" in d.text
    assert "SO_REUSEADDR" in d.next_step and "close the client" in d.next_step
    assert "either a program still listens" not in d.text
    [zh] = diagnose(in_use_events(), "zh")
    assert "FIN_WAIT2" in zh.text and "SO_REUSEADDR" in zh.next_step


def test_two_listeners_text_says_it_is_linux_behaviour() -> None:
    events = in_use_events()[:2] + [E(0.3, "kernel", "tcp", states=(
        ("127.0.0.1:8081", "0.0.0.0:0", "LISTEN"),))]
    [d] = diagnose(events)
    assert "Linux" in d.next_step and "SO_REUSEPORT" in d.next_step


def test_recv_on_the_listening_socket_is_diagnosed() -> None:
    events = v6_server_v4_client()[:4] + [
        E(1.0, "server", "call", TCP6, name="recv", args=["1024"], sock=3, size=1024),
        E(1.01, "server", "raise", TCP6, name="recv", sock=3, error="OSError", errno=107,
          errname="ENOTCONN", message="[Errno 107] Transport endpoint is not connected")]
    [d] = diagnose(events)
    assert d.key == "not_connected" and "listening socket" in d.text
    assert "accept() returned" in d.next_step
    assert "a listening socket only accepts connections" in said(events[-1])


def test_a_reset_names_the_close_with_unread_data_and_does_not_blame_a_crash() -> None:
    events = [
        E(1.0, "client", "call", TCP, name="recv", args=["1024"], sock=3, size=1024),
        E(1.1, "server", "call", TCP, name="close", args=[], sock=4, wire="RST", unread=6),
        E(1.2, "client", "raise", TCP, name="recv", sock=3, error="ConnectionResetError",
          errno=104, errname="ECONNRESET", message="[Errno 104] Connection reset by peer"),
    ]
    [d] = diagnose(events)
    assert d.key == "peer_gone" and "Here server closed with 6 bytes it had not read" in d.text
    assert "closes with FIN" in d.text  # a crash with nothing unread is not an RST
    assert "it crashed" not in d.text


# ---------------------------------------------------------------- telnet's bytes


def test_telnet_negotiation_and_crlf_are_named() -> None:
    data = b"\xff\xfd\x18\xff\xfb\x1f"
    text = said(E(1.0, "server", "return", TCP, name="recv", sock=4, nbytes=len(data),
                  data=data.hex(), result=repr(data)))
    assert "telnet option negotiation: IAC DO TERMINAL-TYPE, IAC WILL NAWS" in text
    line = said(E(1.0, "server", "return", TCP, name="recv", sock=4, nbytes=7,
                  data=b"hello\r\n".hex(), result="b'hello\\r\\n'"))
    assert "\\r\\n: the line ends with CR LF, the way telnet (and HTTP) end a line" in line
    plain = said(E(1.0, "server", "return", TCP, name="recv", sock=4, nbytes=5,
                   data=b"hello".hex(), result="b'hello'"))
    assert plain == "server: recv() got b'hello' (5 bytes)"
    assert "telnet 选项协商" in said(E(1.0, "server", "return", TCP, name="recv", sock=4,
                                     nbytes=3, data="fffd18", result="x"), "zh")


# ---------------------------------------------------------------- select, poll, epoll


def test_select_is_narrated_with_its_fds_and_limit() -> None:
    call = E(1.0, "server", "call", None, name="select", args=["[4, 5]", "[]", "[]", "2"],
             rfds=(4, 5), wfds=(), timeout=2.0)
    assert said(call) == "server: select() waits until fd 4 or 5 is readable (at most 2 s)"
    assert said(call, "zh") == "服务端：select() 等待，直到 fd 4 或 5 可读（最多 2 秒）"
    ready = E(1.5, "server", "return", None, name="select", rfds=(5,), wfds=(), result="…")
    assert said(ready) == "server: select() returned: fd 5 is readable"
    none = E(3.0, "server", "return", None, name="select", rfds=(), wfds=(), result="…")
    assert "nothing ready" in said(none)
    tl = Timeline.from_events([call])
    assert tl.status("server", 2.5) == "blocked in select() for fd 4, 5 readable 1.5 s " \
        "(at most 2 s)"
    assert Timeline.from_events([call], lang="zh").status("server", 2.5) == \
        "阻塞在 select()，等待 fd 4、5 可读 1.5 秒（最多 2 秒）"
    forever = E(1.0, "server", "call", None, name="poll", args=[], rfds=(4,), timeout=None)
    assert Timeline.from_events([forever]).status("server", 2.0) == \
        "blocked in poll() for fd 4 readable 1.0 s"
    assert narrate(E(2.0, "server", "blocked", name="poll", seconds=1.0)) == \
        "server: blocked in poll()"  # on its own the event does not say which fds


def echo_setup() -> list[Event]:
    addr = ("127.0.0.1", 8081)
    return [
        E(0.1, "server", "call", TCP, name="bind", args=[repr(addr)], sock=3, addr=addr),
        E(0.11, "server", "call", TCP, name="listen", args=["5"], sock=3),
        E(0.12, "server", "return", TCP, name="listen", sock=3, result="None"),
        E(0.2, "client", "call", TCP, name="connect", args=[repr(addr)], sock=3, addr=addr),
        E(0.21, "server", "call", TCP, name="accept", args=[], sock=3),
        E(0.22, "client", "return", TCP, name="connect", sock=3, result="None"),
        E(0.23, "server", "return", TCP, name="accept", sock=3, conn=4,
          addr=("127.0.0.1", 51234), result="(…)"),
    ]


def test_a_selectors_server_in_epoll_and_a_client_in_recv_after_an_empty_send_hang() -> None:
    events = echo_setup() + [
        E(0.3, "client", "call", TCP, name="send", args=["b''"], sock=3, data=""),
        E(0.31, "client", "return", TCP, name="send", sock=3, nbytes=0, result="0"),
        E(0.32, "client", "call", TCP, name="recv", args=["1024"], sock=3, size=1024),
        E(0.33, "server", "call", None, name="epoll", args=[], rfds=(3, 4), wfds=(),
          timeout=None),
        E(0.6, "server", "blocked", name="epoll", seconds=0.27),
        E(0.6, "client", "blocked", name="recv", sock=3, seconds=0.28),
    ]
    [d] = diagnose(events)
    assert d.key == "both_recv"
    assert "server waits in epoll() for fd 3, 4 readable and client in recv()" in d.text
    assert "client called send(b'')" in d.text
    assert diagnose(events + [E(0.7, "server", "return", None, name="epoll", rfds=(4,),
                                wfds=(), result="…")])[0].until == 0.7


def test_a_selectors_handler_that_spins_on_empty_recv_is_a_spin() -> None:
    events = echo_setup()
    t = 1.0
    for _ in range(6):
        events += [E(t, "server", "call", None, name="select", args=[], rfds=(3, 4), wfds=(),
                     timeout=None),
                   E(t + 0.001, "server", "return", None, name="select", rfds=(4,), wfds=(),
                     result="…"),
                   E(t + 0.002, "server", "call", TCP, name="recv", args=["1024"], sock=4,
                     size=1024),
                   E(t + 0.003, "server", "return", TCP, name="recv", sock=4, nbytes=0,
                     data="", result="b''")]
        t += 0.01
    [d] = diagnose(events)
    assert d.key == "spin" and d.side == "server" and "6 times in a row" in d.text
    closed = events + [E(2.0, "server", "call", TCP, name="close", args=[], sock=4, wire="FIN"),
                       E(2.01, "server", "return", TCP, name="close", sock=4, result="None")]
    assert diagnose(closed)[0].until == 2.01


def test_asyncio_wakeup_socket_is_labelled_not_the_learners() -> None:
    call = E(1.0, "server", "call", UNIX, name="send", args=["b'\\x00'"], sock=7, data="00",
             internal="asyncio")
    assert "asyncio's own wake-up socket" in said(call)
    assert "不是你的程序创建的套接字" in said(call, "zh")
    would_block = E(1.02, "server", "raise", UNIX, name="recv", sock=6, error="BlockingIOError",
                    errno=11, errname="EAGAIN", internal="asyncio", mode="nonblocking")
    tl = Timeline.from_events([call, E(1.01, "server", "return", UNIX, name="send", sock=7,
                                       nbytes=1, result="1", internal="asyncio"), would_block])
    assert [(r.kind, r.text) for r in tl.rows] == [
        ("call", "send(b'\\x00') [asyncio's own wake-up socket]")]
    assert narrate(would_block) is None


# ---------------------------------------------------------------- version 1 still replays


@pytest.mark.parametrize("v1, v2", [
    (Event(t=1, side="server", kind="return", name="accept",
           result="(<socket fd=4>, ('127.0.0.1', 51234))"),
     Event(t=1, side="server", kind="return", name="accept", conn=4,
           addr=("127.0.0.1", 51234), result="…")),
    (Event(t=1, side="server", kind="return", name="recv", result="b'hi'"),
     Event(t=1, side="server", kind="return", name="recv", nbytes=2, data="6869", result="…")),
    (Event(t=1, side="server", kind="return", name="recvfrom",
           result="(b'', ('127.0.0.1', 5000))"),
     Event(t=1, side="server", kind="return", name="recvfrom", nbytes=0, data="",
           addr=("127.0.0.1", 5000), result="…")),
    (Event(t=1, side="client", kind="call", name="sendto", args=("b'hi'", "('127.0.0.1', 8080)")),
     Event(t=1, side="client", kind="call", name="sendto", args=("b'hi'", "('127.0.0.1', 8080)"),
           data="6869", addr=("127.0.0.1", 8080))),
])
def test_a_version_1_event_reads_like_its_version_2_form(v1: Event, v2: Event) -> None:
    assert narrate(v1) == narrate(v2)
    assert narrate(v1, "zh") == narrate(v2, "zh")


def test_select_labels_asyncios_own_fd_and_diagnosis_ignores_it() -> None:
    wake = E(0.9, "server", "call", UNIX, name="recv", args=["4096"], sock=7, size=4096,
             internal="asyncio", mode="nonblocking")
    wait = E(1.0, "server", "call", None, name="epoll", args=[], rfds=(6, 7), wfds=(),
             timeout=None)
    narrator = Narrator()
    narrator(wake)
    assert narrator(wait) == ("server: epoll() waits until fd 6 or 7 (asyncio's own wake-up "
                              "socket) is readable")
    blocked = E(1.5, "server", "blocked", name="epoll", seconds=0.5)
    assert "fd 6 or 7 (asyncio's" in narrator(blocked)
    assert Timeline.from_events([wake, wait]).status("server", 2.0) == \
        "blocked in epoll() for fd 6, 7 (asyncio's own wake-up socket) readable 1.0 s"
    spins = [E(2.0 + i / 100, "server", "return", UNIX, name="recv", sock=7, nbytes=0, data="",
               result="b''", internal="asyncio") for i in range(6)]
    assert diagnose(spins) == []


def test_empty_datagrams_are_no_spin() -> None:
    events = [E(1.0 + i / 100, "server", "return", UDP, name="recv", sock=3, nbytes=0, data="",
                result="b''") for i in range(6)]
    assert diagnose(events) == []
    assert said(events[0]) == ("server: recv() got an empty datagram b'' — with UDP, b'' does "
                               "not mean closed")


def test_so_linger_zero_is_said_to_make_close_an_rst() -> None:
    call = E(1.0, "client", "call", TCP, name="setsockopt",
             args=["1", "13", repr(b"\x01\x00\x00\x00\x00\x00\x00\x00")], sock=3)
    assert "close() will now reset the connection (RST)" in said(call)
    assert "发出 RST" in said(call, "zh")
    other = E(1.0, "client", "call", TCP, name="setsockopt",
              args=["1", "13", repr(b"\x01\x00\x00\x00\x05\x00\x00\x00")], sock=3)
    assert "RST" not in said(other)


def test_a_version_1_receive_the_tracer_cut_keeps_its_size() -> None:
    cut = Event(t=1, side="server", kind="return", name="recv",
                result="b'" + "a" * 300 + "'…(65536 bytes)")
    assert said(cut).endswith("… (65,536 bytes)")


def test_a_timeout_sockets_wait_shows_its_limit() -> None:
    call = E(1.0, "client", "call", TCP, name="recv", args=["1024"], sock=3, size=1024,
             mode="timeout", timeout=5.0)
    assert Timeline.from_events([call]).status("client", 2.0) == \
        "blocked in recv() 1.0 s (at most 5 s)"


def test_a_loopback_name_resolved_is_no_substitution() -> None:
    connect = E(0.2, "client", "call", TCP, name="connect", args=["('localhost', 8081)"],
                sock=3, addr=("localhost", 8081), real=("127.0.0.1", 8081))
    assert said(connect) == ("client: connect(('localhost', 8081)) — connects to "
                             "localhost:8081: the three-way handshake with the server")


def test_fin_wait2_read_from_the_live_kernel_rows_on_the_real_port() -> None:
    from sockteach import kernel
    rows = [kernel.Row("127.0.0.1", 40123, "127.0.0.1", 51234, "FIN_WAIT2"),
            kernel.Row("127.0.0.1", 8081, "0.0.0.0", 0, "LISTEN")]  # not the real port
    [d] = diagnose(in_use_events()[:2], rows=rows)
    assert "FIN_WAIT2" in d.text and "still listening" not in d.text


def test_a_selectors_server_waiting_for_its_listener_is_no_backlog() -> None:
    addr = ("127.0.0.1", 8081)
    events = echo_setup()[:3] + [
        E(0.2, "client", "call", TCP, name="connect", args=[repr(addr)], sock=3, addr=addr),
        E(0.21, "client", "return", TCP, name="connect", sock=3, result="None"),
        E(0.22, "client", "call", TCP, name="recv", args=["1024"], sock=3, size=1024),
        E(0.23, "server", "call", None, name="select", args=[], rfds=(3,), wfds=(),
          timeout=None),
        E(0.5, "client", "blocked", name="recv", sock=3, seconds=0.28),
        E(0.5, "server", "blocked", name="select", seconds=0.27)]
    assert [d.key for d in diagnose(events)] != ["backlog"]
    plain = events[:6] + [E(0.23, "server", "call", TCP, name="input", args=["''"]),
                          E(0.5, "client", "blocked", name="recv", sock=3, seconds=0.28)]
    assert [d.key for d in diagnose(plain)] == ["backlog"]


# ---------------------------------------------------------------- every combination has words

NAMES = ("bind", "listen", "accept", "connect", "connect_ex", "recv", "recvfrom", "recv_into",
         "send", "sendall", "sendto", "close", "shutdown", "select", "poll", "epoll",
         "getsockopt", "setsockopt", "makefile")
FACTS = (TCP, TCP6, UDP, UNIX)
MODES = (dict(mode="blocking"), dict(mode="nonblocking"), dict(mode="timeout", timeout=1.5))
CLOSES = (dict(wire="FIN"), dict(wire="RST", unread=3), dict(wire="RST", linger=(1, 0)),
          dict(wire="none"), dict(wire="none", held="makefile"), dict(wire="eof"),
          dict(wire="FIN", held="released"), dict(wire="RST", unread=2, held="released"),
          dict(wire="eof", held="released"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_name_family_and_mode_has_a_sentence_in_both_languages(lang: str) -> None:
    cjk = 0
    for name in NAMES:
        for facts in FACTS:
            addr = PATH if facts is UNIX else ("::1", 8081, 0, 0) if facts is TCP6 else \
                ("127.0.0.1", 8081)
            for extra in MODES + (CLOSES if name in ("close", "shutdown") else ()):
                fields = dict(extra)
                fields.setdefault("mode", "blocking")
                call = E(1.0, "server", "call", facts, name=name, args=["1"], sock=3,
                         addr=addr, size=1024, data="6869", rfds=(3,), wfds=(4,), **fields)
                ret = E(1.1, "server", "return", facts, name=name, sock=3, result="2",
                        nbytes=2, data="6869", addr=addr, conn=5, rfds=(3,), wfds=())
                raised = E(1.1, "server", "raise", facts, name=name, sock=3,
                           error="BlockingIOError", errno=11, errname="EAGAIN",
                           message="[Errno 11] Resource temporarily unavailable", **fields)
                narrator = Narrator(lang)
                for event in (call, ret, raised):
                    text = narrator(event)
                    if text is None:
                        continue
                    assert "{" not in text, text
                    cjk += lang == "zh" and any("\u4e00" <= ch <= "\u9fff" for ch in text)
    assert lang == "en" or cjk > 300


def test_asyncios_own_return_does_not_end_the_learners_call() -> None:
    events = [E(1.0, "server", "call", TCP, name="recv", args=["1024"], sock=4, size=1024),
              E(1.1, "server", "return", UNIX, name="recv", sock=7, nbytes=1, data="00",
                result="b'\\x00'", internal="asyncio")]
    assert Timeline.from_events(events).status("server", 2.0) == "blocked in recv() 1.0 s"


def test_a_refused_udp_receive_is_not_called_a_refused_connection() -> None:
    text = said(E(1.0, "client", "raise", UDP, name="recv", sock=3,
                  error="ConnectionRefusedError", errno=111, errname="ECONNREFUSED",
                  message="[Errno 111] Connection refused"))
    assert "UDP has no connection to refuse" in text and "port unreachable" in text


def test_a_version_1_record_gets_its_mode_from_its_own_setblocking_call() -> None:
    narrator = Narrator()
    narrator(Event(t=1, side="server", kind="call", name="setblocking", args=("False",), sock=4))
    recv = narrator(Event(t=2, side="server", kind="call", name="recv", args=("1024",), sock=4))
    assert "returns at once" in recv and "waits (blocks)" not in recv
    narrator(Event(t=3, side="server", kind="call", name="settimeout", args=("2.5",), sock=4))
    assert "waits at most 2.5 s" in narrator(
        Event(t=4, side="server", kind="call", name="recv", args=("1024",), sock=4))
    assert "waits (blocks)" in narrator(
        Event(t=4, side="server", kind="call", name="recv", args=("1024",), sock=5))


def test_a_v6_client_refused_by_a_v4_server_is_a_family_mismatch_too() -> None:
    addr = ("127.0.0.1", 8081)
    events = echo_setup()[:3] + [
        E(0.2, "client", "call", TCP6, name="connect", args=["('::1', 8081)"], sock=3,
          addr=("::1", 8081, 0, 0)),
        E(0.21, "client", "raise", TCP6, name="connect", sock=3,
          error="ConnectionRefusedError", errno=111, errname="ECONNREFUSED",
          message="[Errno 111] Connection refused")]
    [d] = diagnose(events)
    assert "connect() to [::1]:8081" in d.text
    assert f"on {addr[0]}:8081 (AF_INET)" in d.text and "is AF_INET6" in d.text
    assert "Without sockteach" not in d.text


def test_a_connect_with_no_route_says_the_run_has_only_loopback():
    from sockteach.events import Event
    from sockteach.narrator import narrate

    e = Event(1.0, "client", "raise", name="connect", error="OSError", errno=101,
              errname="ENETUNREACH", message="[Errno 101] Network is unreachable", sock=3,
              family="AF_INET", socktype="SOCK_STREAM", mode="blocking")
    for lang, words in (("en", "only loopback"), ("zh", "只有回环地址")):
        text = narrate(e, lang)
        assert text and words in text and "ENETUNREACH" in text, text
