"""A diagnosis that needs the kernel's word, over real processes: errno 98 while the old
connection is still closing (FIN_WAIT2 — Ctrl-C of a server whose client is still connected,
the most common classroom case), not the "unknown" text."""

from __future__ import annotations

import signal

import pytest

from conftest import program
from sockteach.diagnose import diagnose
from sockteach.kernel import available
from sockteach.session import Session


@pytest.mark.skipif(not available(), reason="the kernel's TCP table is Linux's /proc/net/tcp")
def test_errno_98_with_the_old_connection_in_fin_wait2():
    with Session() as s:
        s.start("server", program("diag_echo_server.py"))
        s.wait_until(lambda: any(e.kind == "call" and e.name == "accept"
                                 for e in s.snapshot()), 10, "accept")
        s.start("client", program("diag_stay_client.py"))
        s.wait_until(lambda: any(e.side == "server" and e.kind == "return" and e.name == "accept"
                                 for e in s.snapshot()), 10, "the connection")
        s.kill("server", signal.SIGINT)  # the server stops; its client stays connected
        s.wait_exit("server", 10)
        s.wait_until(lambda: any(e.kind == "tcp" and any(r[2] == "FIN_WAIT2"
                                                         for r in e.states or ())
                                 for e in s.snapshot()), 30, "FIN_WAIT2 in the table")
        s.start("server", program("diag_echo_server.py"))  # restarted at once
        assert s.wait_exit("server", 10) != 0
        found = diagnose(s.sorted_events(), "en")
    in_use = [d for d in found if d.key == "in_use"]
    assert in_use and "FIN_WAIT2" in in_use[0].text, [d.text for d in found]
    assert "Ctrl-C" in in_use[0].text
