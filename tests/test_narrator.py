"""The narrator: one sentence per event, English and Chinese, all wording from the catalogs."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from sockteach.events import Event
from sockteach.i18n import tomllib
from sockteach.lessons import Lesson
from sockteach.events import show_address
from sockteach.legacy import upgrade
from sockteach.narrator import call_text, narrate, short, side_label

MESSAGES = Path(__file__).resolve().parent.parent / "sockteach" / "messages"
CJK = re.compile(r"[\u4e00-\u9fff]")


def ev(kind: str, side: str = "server", **fields: object) -> Event:
    if "args" in fields:
        fields["args"] = tuple(fields["args"])  # type: ignore[arg-type]
    return Event(t=1.0, side=side, kind=kind, **fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------- sides


@pytest.mark.parametrize(
    "side, en, zh",
    [("server", "server", "服务端"), ("client", "client", "客户端"),
     ("client2", "client 2", "客户端2"), ("client3", "client 3", "客户端3")],
)
def test_side_label(side: str, en: str, zh: str) -> None:
    assert side_label(side, "en") == en
    assert side_label(side, "zh") == zh


# ---------------------------------------------------------------- the important sentences

CASES = [
    (ev("call", name="accept", args=()),
     "server: accept() waits (blocks) until a client connects",
     "服务端：accept() 阻塞，等待客户端连接"),
    (ev("return", name="accept", result="(<socket fd=4>, ('127.0.0.1', 51234))"),
     "server: accept() returned: a client connected from 127.0.0.1:51234 — a new socket (fd 4) "
     "just for this connection",
     "服务端：accept() 返回：客户端从 127.0.0.1:51234 连进来了——一个新的套接字（fd 4）专门负责这条连接"),
    (ev("call", name="bind", args=["('127.0.0.1', 8081)"], real="('127.0.0.1', 40123)"),
     "server: bind(('127.0.0.1', 8081)) — binds this socket to the address 127.0.0.1:8081. "
     "sockteach runs port 8081 on 40123; the program still sees 8081.",
     "服务端：bind(('127.0.0.1', 8081))：把这个套接字绑定到地址 127.0.0.1:8081。"
     "sockteach 把 8081 端口实际放在 40123 端口上；程序看到的仍然是 8081。"),
    (ev("call", "client", name="recv", args=["1024"]),
     "client: recv(1024) waits (blocks) until data arrives, then takes up to 1024 bytes",
     "客户端：recv(1024) 阻塞，等到有数据到达，最多接收 1024 字节"),
    (ev("return", name="recv", result="b'hello'"),
     "server: recv() got b'hello' (5 bytes)",
     "服务端：recv() 收到 b'hello' (5 字节)"),
    (ev("return", name="recv", result="b''"),
     "server: recv() returned b'': the peer closed the connection — b'' is how recv says so",
     "服务端：recv() 返回 b''：对端关闭了连接——recv 就是用 b'' 来表示这一点"),
    (ev("return", "client", name="send", result="5"),
     "client: send() returned 5: 5 bytes went into the send buffer",
     "客户端：send() 返回 5：5 字节进入了发送缓冲区"),
    (ev("return", "client", name="send", result="0"),
     "client: send() returned 0: nothing was sent — TCP puts no segment on the wire for zero bytes",
     "客户端：send() 返回 0：什么也没有发送——TCP 不会为 0 字节往线路上放任何报文段"),
    (ev("call", "client", name="sendall", args=["b''"]),
     "client: sendall(b'') — nothing to send: no segment goes on the wire",
     "客户端：sendall(b'')：没有要发送的内容——线路上不会出现任何报文段"),
    (ev("raise", name="recv", error="ConnectionResetError", errno=104,
        message="[Errno 104] Connection reset by peer"),
     "server: recv() raised ConnectionResetError ([Errno 104] Connection reset by peer): "
     "the peer reset the connection (RST)",
     "服务端：recv() 抛出 ConnectionResetError ([Errno 104] Connection reset by peer)："
     "连接被重置——对端发来了 RST"),
    (ev("raise", name="bind", error="OSError", errno=98, message="[Errno 98] Address already in use"),
     "server: bind() raised OSError (errno 98) — Address already in use: something still holds "
     "this address — a running server, or an old connection still closing (FIN_WAIT2, TIME_WAIT)",
     "服务端：bind() 抛出 OSError（errno 98）——地址已被占用（Address already in use）："
     "这个地址还被占着——可能是一个还在运行的服务端，也可能是一条还在关闭过程中的旧连接（FIN_WAIT2、TIME_WAIT 状态）"),
    (ev("blocked", name="recv", seconds=0.5),
     "server: blocked in recv(): nothing to read yet",
     "服务端：阻塞在 recv()：还没有数据可读"),
    (ev("blocked", name="accept", seconds=0.5),
     "server: blocked in accept(): no client has connected yet",
     "服务端：阻塞在 accept()：还没有客户端连接"),
    (ev("repeat", name="recv", result="b''", count=412000),
     "server: recv() returned b'' 412,000 times — the loop never checks for it (spinning)",
     "服务端：recv() 已经返回 b'' 412,000 次——循环从不检查它（空转）"),
    (ev("repeat", "client2", name="send", result="0", count=1200),
     "client 2: send() returned 0 1,200 times — sending nothing, again and again (spinning)",
     "客户端2：send() 已经返回 0 1,200 次——一遍又一遍地什么也没发送（空转）"),
    (ev("exit", code=0), "server: exited normally (code 0)", "服务端：正常退出（退出码 0）"),
    (ev("exit", "client", code=1),
     "client: exited with code 1 — something went wrong: see its output",
     "客户端：以退出码 1 退出——出错了，看看它的输出"),
    (ev("exit", "client", code=-9),
     "client: was killed by signal SIGKILL (9); the kernel closes its sockets for it",
     "客户端：被 SIGKILL（信号 9）终止；内核替它关闭了所有套接字"),
    (ev("exit", code=-2), "server: was stopped by Ctrl-C (SIGINT)", "服务端：被 Ctrl-C（SIGINT）终止"),
    (ev("input", "client", text="hello"),
     "client: typed 'hello' and pressed Enter", "客户端：输入 'hello' 并回车"),
    (ev("input", "client", text=""),
     "client: pressed Enter on an empty line", "客户端：直接按了回车（空行）"),
    (ev("call", "client", name="input", args=["'>>: '"]),
     "client: input('>>: ') waits for you to type a line", "客户端：input('>>: ') 等待你输入一行"),
    (ev("return", "client", name="input", result="''"),
     "client: input() returned '': an empty line", "客户端：input() 返回 ''：一个空行"),
    (ev("step", "lesson", title="The server waits", text="It waits in accept()."),
     "The server waits: It waits in accept().", "The server waits：It waits in accept()."),
    (ev("tcp", "kernel", states=(("127.0.0.1:8081", "0.0.0.0:0", "LISTEN"),
                                 ("127.0.0.1:8081", "127.0.0.1:51234", "ESTABLISHED"))),
     "kernel's TCP table: 127.0.0.1:8081 LISTEN; 127.0.0.1:8081 ↔ 127.0.0.1:51234 ESTABLISHED",
     "内核的 TCP 表：127.0.0.1:8081 LISTEN; 127.0.0.1:8081 ↔ 127.0.0.1:51234 ESTABLISHED"),
    (ev("tcp", "kernel", states=(("127.0.0.1:8081", "127.0.0.1:51234", "TIME_WAIT"),)),
     "kernel's TCP table: 127.0.0.1:8081 ↔ 127.0.0.1:51234 TIME_WAIT. TIME_WAIT: the side that "
     "closed first keeps the address for about 60 s.",
     "内核的 TCP 表：127.0.0.1:8081 ↔ 127.0.0.1:51234 TIME_WAIT。TIME_WAIT 状态：先关闭的一方要把"
     "这个地址再占用约 60 秒。"),
    (ev("tcp", "kernel", states=()),
     "kernel's TCP table: no connections on the lesson's ports", "内核的 TCP 表：本课的端口上没有连接"),
    (ev("tcp", "kernel", text="only on Linux"),
     "the kernel's TCP table cannot be read here: only on Linux",
     "这里无法读取内核的 TCP 表：only on Linux"),
]


@pytest.mark.parametrize("event, en, zh", CASES, ids=lambda x: x.kind if isinstance(x, Event) else "")
def test_sentence(event: Event, en: str, zh: str) -> None:
    assert narrate(event, "en") == en
    assert narrate(event, "zh") == zh


def test_unknown_language_falls_back_to_english() -> None:
    assert narrate(ev("call", name="accept", args=()), "fr") == \
        "server: accept() waits (blocks) until a client connects"


def test_setsockopt_numbers_read_as_the_constants_the_learner_wrote() -> None:
    numeric = ev("call", name="setsockopt", args=["1", "2", "1"])
    symbolic = ev("call", name="setsockopt", args=["SOL_SOCKET", "SO_REUSEADDR", "1"])
    expected = ("server: setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) — reuse the address "
                "(SO_REUSEADDR): bind() may take an address still held by a connection in "
                "TIME_WAIT (set it before bind)")
    assert narrate(numeric) == narrate(symbolic) == expected
    assert "重用地址（SO_REUSEADDR）" in (narrate(numeric, "zh") or "")
    assert call_text("setsockopt", ("1", "2", "1")) == "setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)"


def test_noise_gets_no_line() -> None:
    assert narrate(ev("output", text="server===>\n")) is None
    assert narrate(ev("call", name="fileno", args=())) is None
    assert narrate(ev("return", name="bind", result="None")) is None
    assert narrate(ev("call", name="_accept", args=())) is None  # the socket module's insides


# Every socket method the tutorial lists, with a typical call and return.
METHODS = {
    "bind": (["('127.0.0.1', 8081)"], "None"),
    "listen": (["5"], "None"),
    "accept": ([], "(<socket fd=4>, ('127.0.0.1', 51234))"),
    "connect": (["('127.0.0.1', 8081)"], "None"),
    "connect_ex": (["('127.0.0.1', 8081)"], "111"),
    "recv": (["1024"], "b'hi'"),
    "send": (["b'hi'"], "2"),
    "sendall": (["b'hi'"], "None"),
    "recvfrom": (["1024"], "(b'hi', ('127.0.0.1', 5000))"),
    "sendto": (["b'hi'", "('127.0.0.1', 8080)"], "2"),
    "getpeername": ([], "('127.0.0.1', 51234)"),
    "getsockname": ([], "('127.0.0.1', 8081)"),
    "getsockopt": (["1", "2"], "1"),
    "setsockopt": (["1", "2", "1"], "None"),
    "close": ([], "None"),
    "setblocking": (["False"], "None"),
    "settimeout": (["0.5"], "None"),
    "gettimeout": ([], "0.5"),
    "fileno": ([], "4"),
    "makefile": (["'r'"], "<_io.TextIOWrapper name=4>"),
}


def test_the_list_has_all_twenty_methods() -> None:
    assert len(METHODS) == 20


@pytest.mark.parametrize("name", sorted(METHODS))
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_method_gets_a_sentence(name: str, lang: str) -> None:
    args, result = METHODS[name]
    lines = [narrate(ev("call", name=name, args=args), lang),
             narrate(ev("return", name=name, result=result), lang)]
    said = [line for line in lines if line is not None]
    assert said, f"{name}: no sentence on call or return"
    for line in said:
        assert name in line
        if lang == "zh":
            assert line.startswith("服务端："), line
            assert CJK.search(line.split("：", 1)[1]), f"not translated: {line}"
        else:
            assert line.startswith("server: "), line


def test_specific_method_sentences() -> None:
    assert narrate(ev("return", name="connect_ex", result="111")) == (
        "server: connect_ex() returned 111 (ECONNREFUSED): not connected — connect() would "
        "have raised an exception here")
    assert narrate(ev("return", name="recvfrom", result="(b'', ('127.0.0.1', 5000))")) == (
        "server: recvfrom() got an empty datagram b'' from 127.0.0.1:5000 — with UDP, b'' does "
        "not mean closed")
    assert narrate(ev("call", name="settimeout", args=["None"])) == (
        "server: settimeout(None) — no timeout: calls wait as long as it takes (blocking)")
    assert narrate(ev("return", name="fileno", result="4"), "zh") == (
        "服务端：fileno() 返回 4：操作系统给这个套接字的编号（文件描述符）")


def test_a_lesson_can_word_a_sentence_its_own_way(tmp_path: Path) -> None:
    lesson = Lesson(
        number=1, slug="x", path=tmp_path, title={}, summary={}, learned={}, ports=(8081,),
        code={}, diffs=(), steps=(),
        data={"narration": {"return.recv_empty": {"en": "the client hung up: {result}",
                                                  "zh": "客户端挂断了"}}},
    )
    event = ev("return", name="recv", result="b''")
    assert narrate(event, "en", lesson) == "server: the client hung up: b''"
    assert narrate(event, "zh", lesson) == "服务端：客户端挂断了"
    assert narrate(ev("call", name="accept", args=()), "en", lesson).startswith("server: accept()")


def test_helpers() -> None:
    v1 = ev("call", name="bind", args=["('127.0.0.1', 8081)"])
    assert show_address(upgrade(v1).addr) == "127.0.0.1:8081"
    assert show_address(("", 8081)) == "0.0.0.0:8081"
    assert show_address(("::1", 8081, 0, 0)) == "[::1]:8081"
    long_repr = "b'" + "a" * 300 + "'…(4194304 bytes)"
    cut = short(long_repr)
    assert len(cut) == 60 and cut.endswith("…(4194304 bytes)") and cut.startswith("b'aaa")


# ---------------------------------------------------------------- the catalogs


def _keys(path: Path) -> dict[str, str]:
    flat: dict[str, str] = {}

    def walk(prefix: str, node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            flat[prefix] = str(node)

    with path.open("rb") as f:
        walk("", tomllib.load(f))
    return flat


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


@pytest.mark.parametrize("en_path", sorted(MESSAGES.glob("*en.toml")), ids=lambda p: p.name)
def test_chinese_catalog_has_every_english_key(en_path: Path) -> None:
    zh_path = en_path.with_name(en_path.name.replace("en.toml", "zh.toml"))
    en, zh = _keys(en_path), _keys(zh_path)
    assert sorted(set(en) - set(zh)) == []
    for key, template in en.items():
        assert _placeholders(zh[key]) == _placeholders(template), key


def test_main_catalog_is_not_empty() -> None:
    assert len(_keys(MESSAGES / "en.toml")) > 100


def test_a_single_repeat_reads_once() -> None:
    event = ev("repeat", name="recv", result="b''", count=1)
    assert narrate(event) == "server: recv() returned b'' once — the loop never checks for it (spinning)"
    assert narrate(event, "zh") == "服务端：recv() 已经返回 b'' 1 次——循环从不检查它（空转）"
