"""Tracer fidelity as a property: for random message sequences, a traced program and the same
program untraced put the same bytes on the wire, print the same and raise the same."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import program
from sockteach.session import Session

messages = st.lists(st.binary(min_size=0, max_size=3000), max_size=6)


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(messages)
def test_traced_and_untraced_runs_agree(msgs):
    arg = ",".join(m.hex() for m in msgs)
    plain = subprocess.run([sys.executable, str(program("fidelity_seq.py")), arg],
                           capture_output=True, text=True, timeout=30)
    with Session() as s:
        s.start("main", program("fidelity_seq.py"), args=[arg])
        code = s.wait_exit("main", timeout=30)
        traced = "".join(e.text or "" for e in s.sorted_events()
                         if e.kind == "output" and e.side == "main")
    # the pty echoes nothing here (no input); it turns \n into \r\n, which the session undoes
    assert code == plain.returncode
    assert traced.splitlines() == (plain.stdout + plain.stderr).splitlines()
    assert "True" in plain.stdout.splitlines()[1]  # the bytes on the wire were all received
