"""The driver of exercises 1, 3 and 4 (servers the grader's client talks to): it runs the
submission and records; :mod:`.judge_servers` gives the verdicts from what it recorded."""

from __future__ import annotations

from .drive import (ACCEPT, SECOND, START, STOP, TIME_WAIT, Drive, End, connect, exchange,
                    leave_normally, left_reaction, LEAVE, reset_then_next, serve_next,
                    start_server, watch_table)
from .plan import MESSAGES
from .trial import Trial


def echo_server(d: Drive) -> None:
    """Exercise 1: one client, every message answered with its upper-case version."""
    trial = d.trial("server")
    addr = start_server(trial, "listens")
    if addr is None:
        return
    t0 = trial.now()
    peer = connect(trial, addr, "accepts")
    trial.wait(lambda: trial.accepted_since(t0) or trial.exited() or trial.input_call(), ACCEPT)
    trial.checkpoint("accepts")
    if not trial.accepted_since(t0):
        return
    exchange(trial, peer, b"hello", "upper_reply")
    trial.checkpoint("upper_reply")
    for data in MESSAGES:
        exchange(trial, peer, data, "several_messages")
    trial.checkpoint("several_messages")


def loop_server(d: Drive) -> None:
    """Exercise 3: the next client after one leaves normally, and after one that resets."""
    trial = d.trial("server")
    addr = start_server(trial, "listens")
    if addr is None:
        return
    peer = connect(trial, addr, "echo")
    for data in (b"hello", b"Second line"):
        exchange(trial, peer, data, "echo")
    trial.checkpoint("echo")
    leave_normally(trial, peer)
    serve_next(trial, addr, b"next client", "next_after_close")

    # A fresh run for the abrupt leave, so it does not depend on the normal one.
    trial.close()
    trial2 = d.trial("server")
    addr2 = start_server(trial2, "rerun")
    if addr2 is None:
        return
    first = connect(trial2, addr2, "next_after_reset")
    exchange(trial2, first, b"one", "next_after_reset")
    t_reset = trial2.now()
    first.reset()
    trial2.wait(lambda: left_reaction(trial2, t_reset), LEAVE)
    serve_next(trial2, addr2, b"after a reset", "next_after_reset")


def restartable_server(d: Drive) -> None:
    """Exercise 4: the lesson 3 server, stopped while a client is connected and started again
    at once on the same port (TIME_WAIT on the port); a second live copy must fail."""
    trial = d.trial("server")
    addr = start_server(trial, "listens")
    if addr is None:
        return
    peer = connect(trial, addr, "echo")
    for data in (b"hello", b"Second line"):  # two messages: a communication loop
        exchange(trial, peer, data, "echo")
    trial.checkpoint("echo")
    lingered = leave_normally(trial, peer)
    if serve_next(trial, addr, b"next client", "next_client") and not lingered:
        reset_then_next(trial, addr, "next_client:reset")

    trial.close()
    trial2 = d.trial("server")
    addr2 = start_server(trial2, "rerun")
    if addr2 is None:
        return
    client = connect(trial2, addr2, "restart")
    exchange(trial2, client, b"before", "restart")
    trial2.stop_side(interrupt=True, grace=STOP)
    client.close()  # the server closed first: its port is now in TIME_WAIT
    watch_table(trial2, "time_wait", addr2[1], TIME_WAIT, lambda states: any(
        local.endswith(f":{addr2[1]}") and state == "TIME_WAIT"
        for local, _remote, state in states))
    rec = trial2.start()
    trial2.wait(lambda: trial2.listen_address(rec) or trial2.exited(rec)
                or trial2.input_call(rec), START)
    again = trial2.listen_address(rec)
    trial2.checkpoint("restart:again")
    if again is None or again[1] != addr2[1]:
        return
    if _second_copy_listens(trial2, again[1]):
        return
    serve_next(trial2, again, b"after restart", "restart")


def _second_copy_listens(trial: Trial, port: int) -> bool:
    """While the program runs, start a second copy of it: does it listen on ``port`` too?
    (It should fail with errno 98; one that waits and retries does not listen either.)"""
    try:
        rec = trial.start(f"{trial.side}-copy")
    except Exception:
        trial.checkpoint("restart:copy")
        return False
    try:
        trial.wait(lambda: trial.listen_address(rec) or trial.exited(rec)
                   or trial.input_call(rec), SECOND)
        addr = trial.listen_address(rec)
        trial.checkpoint("restart:copy")
        return addr is not None and addr[1] == port
    finally:
        trial.kill(rec)


DRIVERS = {"echo_server": echo_server, "loop_server": loop_server,
           "restartable_server": restartable_server}


def run(d: Drive) -> None:
    try:
        DRIVERS[d.exercise.scenario](d)
    except End:
        pass
