"""`sockteach doctor`: what this machine allows, tried for real, in both languages; exit 0."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sockteach import sandbox
from sockteach.cli_doctor import report
from sockteach.i18n import msg

ROOT = Path(__file__).resolve().parent.parent
VENV_SITE = (Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
             / "site-packages")


def doctor(*args: str, env: dict | None = None, python: str = sys.executable,
           as_user: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*as_user, python, "-m", "sockteach", "doctor", *args],
                          capture_output=True, text=True, timeout=60, cwd="/",
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def line_of(out: str, key: str, lang: str) -> str:
    """The output line that begins as message ``key`` does (before its first field)."""
    head = msg(key, lang, answer="\0").split("\0")[0]
    found = [ln for ln in out.splitlines() if ln.startswith(head)]
    assert len(found) == 1, (key, out)
    return found[0][len(head):]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_doctor_reports_what_the_probe_found(lang: str) -> None:
    found = sandbox.probe()
    result = doctor("--lang", lang)
    assert result.returncode == 0 and result.stderr == ""
    yes, no = msg("doctor.yes", lang), msg("doctor.no", lang)
    netns = line_of(result.stdout, "doctor.netns", lang)
    packet = line_of(result.stdout, "doctor.packet", lang)
    if found.get("netns") is True:
        assert netns.startswith(yes)
        assert (msg("doctor.netns_root", lang) in netns) == (os.geteuid() == 0)
        assert line_of(result.stdout, "doctor.unreachable", lang) == "ENETUNREACH"
        assert packet == yes if found["packet"] is True else packet.startswith(no)
        assert msg("doctor.netns_means", lang) in result.stdout
    else:
        assert netns.startswith(no) and str(found.get("netns")) in netns
    assert msg("doctor.outside", lang) in result.stdout  # run and notebooks: no namespace


def test_doctor_when_namespaces_are_turned_off() -> None:
    result = doctor("--lang", "en", env={sandbox.FORCE_OFF: "1"})
    assert result.returncode == 0
    assert line_of(result.stdout, "doctor.netns", "en").startswith(msg("doctor.no", "en"))
    assert msg("doctor.forced", "en") in result.stdout
    unreachable_head = msg("doctor.unreachable", "en", answer="\0").split("\0")[0]
    assert unreachable_head not in result.stdout  # nothing was tried: no namespace
    assert line_of(result.stdout, "doctor.packet", "en").startswith(msg("doctor.no", "en"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_refusing_kernel_is_explained(lang: str) -> None:
    lines = report(lang, {"netns": "Operation not permitted"}, (False, "no cgroup v2 here"))
    text = "\n".join(lines)
    assert msg("doctor.netns_refused", lang, reason="Operation not permitted") in text
    assert msg("doctor.packet_no", lang, reason="Operation not permitted") in text
    assert msg("doctor.cgroup_no", lang, reason="no cgroup v2 here") in text
    assert msg("doctor.netns_means", lang) not in text
    ok = "\n".join(report(lang, {"netns": True, "user_namespace": True, "packet": True,
                                 "unreachable": True}, (True, "/sys/fs/cgroup/x")))
    assert msg("doctor.netns_user", lang) in ok and msg("doctor.packet_means", lang) in ok
    assert msg("doctor.cgroup_yes", lang, path="/sys/fs/cgroup/x") in ok


def test_doctor_as_an_ordinary_user() -> None:
    setpriv, python = shutil.which("setpriv"), shutil.which("python3", path="/usr/bin:/bin")
    if os.geteuid() != 0 or setpriv is None or python is None:
        pytest.skip("needs root, setpriv and a system python3 to run as 'nobody'")
    user = (setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups")
    result = doctor("--lang", "en", python=python, as_user=user,
                    env={"PYTHONPATH": f"{ROOT}:{VENV_SITE}"})
    if result.returncode != 0:
        pytest.skip(f"'nobody' cannot run this checkout: {result.stderr[-300:]}")
    netns = line_of(result.stdout, "doctor.netns", "en")
    if netns.startswith(msg("doctor.no", "en")):
        pytest.skip(f"this machine refuses 'nobody' a user namespace: {netns}")
    assert msg("doctor.netns_user", "en") in netns
