"""The command line as a user meets it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import sys

import pytest

from conftest import our_processes, run_cli
from sockteach import lessons
from sockteach.i18n import pick
from sockteach.session import free_port


def test_no_arguments_lists_the_course_in_english():
    result = run_cli(env={"LANG": "C.UTF-8", "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    for lesson in lessons.course():
        assert pick(lesson.title, "en") in result.stdout


@pytest.mark.parametrize("how", [["--lang", "zh", "list"], ["list", "--lang", "zh"]])
def test_list_in_chinese_by_option(how):
    result = run_cli(*how, env={"COLUMNS": "200"})
    assert result.returncode == 0
    assert pick(lessons.get(1).title, "zh") in result.stdout


@pytest.mark.parametrize("env", [{"SOCKTEACH_LANG": "zh"}, {"LANG": "zh_CN.UTF-8", "LC_ALL": ""}])
def test_language_from_environment(env):
    result = run_cli("list", env={**env, "COLUMNS": "200"})
    assert pick(lessons.get(2).title, "zh") in result.stdout


@pytest.mark.parametrize("args, words", [
    (["lesson", "99"], "no lesson 99"),
    (["lesson", "abc"], "no lesson abc"),
    (["lesson", "1", "--speed", "fast"], "not a number"),
    (["lesson", "1", "--bogus"], "unrecognized arguments"),
    (["show", "1", "nosuchfile"], "has no 'nosuchfile' file"),
    (["frobnicate"], "invalid choice"),
    (["lesson", "1", "--record", "/no/such/dir/x.jsonl"], "folder does not exist"),
    (["run", "1", "server", "--port", "70000"], "--port must be"),
])
def test_bad_input_is_one_line_and_exit_2(args, words):
    result = run_cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert words in result.stderr


def test_bad_input_message_in_chinese():
    result = run_cli("lesson", "42", "--lang", "zh")
    assert result.returncode == 2 and "没有第 42 课" in result.stderr


def test_help_lists_every_command():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("list", "lesson", "show", "run", "start", "check", "hint", "solution",
                    "grade", "watch", "replay"):
        assert command in result.stdout
    # the fast top-level help says the same as the full parser's
    from sockteach.cli import build_parser

    assert result.stdout == build_parser().format_help().replace("\r", "")


def test_every_command_has_its_own_help():
    for command in ("list", "lesson", "show", "run", "start", "check", "hint", "solution",
                    "grade", "watch", "replay"):
        result = run_cli(command, "--help")
        assert result.returncode == 0 and f"usage: sockteach {command}" in result.stdout


def test_show_prints_the_lessons_code():
    result = run_cli("show", "1", "server")
    assert result.returncode == 0
    assert "phone=socket(AF_INET,SOCK_STREAM)" in result.stdout
    assert "conn,addr=phone.accept()" in result.stdout


def test_show_diff_shows_the_change_from_the_previous_stage():
    result = run_cli("show", "2", "client_fixed", "--diff")
    assert result.returncode == 0
    assert "+" in result.stdout and "if not msg" in result.stdout


def test_svg_export(tmp_path):
    svg = tmp_path / "screen.svg"
    result = run_cli("lesson", "1", "--fast", "--svg", str(svg))
    assert result.returncode == 0, result.stderr
    text = svg.read_text(encoding="utf-8")
    assert text.startswith("<svg") and "accept" in text


def test_run_one_side_per_terminal_classroom_setup():
    pexpect = pytest.importorskip("pexpect")
    port = str(free_port())
    server = pexpect.spawn(sys.executable, ["-m", "sockteach", "run", "3", "server", "--port", port],
                           encoding="utf-8", timeout=20)
    client = None
    try:
        server.expect("accept")
        client = pexpect.spawn(sys.executable, ["-m", "sockteach", "run", "3", "client",
                                                "--port", port], encoding="utf-8", timeout=20)
        client.expect(">>: ")
        client.sendline("hello")
        client.expect("HELLO")
        client.expect(">>: ")
        client.sendline("quit")
        client.expect(pexpect.EOF)
        server.expect("b''")  # narrated: the client closed
        server.sendintr()
        server.expect(pexpect.EOF)
    finally:
        server.close(force=True)
        if client is not None:
            client.close(force=True)
    assert client.exitstatus == 0
    assert server.exitstatus == 130
    assert not our_processes()


def test_check_output_means_the_same_with_and_without_colour(tmp_path):
    import re
    import shutil

    from conftest import ROOT

    sub = tmp_path / "server.py"
    shutil.copy(ROOT / "tests/fixtures/exercises/ex01/bad_no_accept.py", sub)
    env = {"SOCKTEACH_HOME": str(tmp_path), "COLUMNS": "100"}
    plain = run_cli("check", "1", str(sub), env=env)
    coloured = run_cli("check", "1", str(sub), env={**env, "FORCE_COLOR": "true"})
    assert plain.returncode == coloured.returncode == 1  # the verdict is the exit code
    strip = re.compile(r"\x1b\[[0-9;]*m")
    assert "\x1b[" not in plain.stdout
    normalise = lambda text: re.sub(r"127\.0\.0\.1:\d+", "PORT", strip.sub("", text))
    assert normalise(coloured.stdout) == normalise(plain.stdout)
    assert "✘ 3. accepts a client" in plain.stdout  # pass/fail is in the text, not only colour


def test_start_inside_the_work_folder_does_not_nest(tmp_path):
    env = {"SOCKTEACH_HOME": str(tmp_path / "home"), "SOCKTEACH_LANG": "en"}
    assert run_cli("start", "1", env=env, cwd=str(tmp_path)).returncode == 0
    folder = tmp_path / "sockteach-work" / "01-naive-echo"
    again = run_cli("start", "1", env=env, cwd=str(folder))  # its own folder: the file is here
    assert again.returncode == 2 and "--force" in again.stderr
    assert not (folder / "sockteach-work").exists()
    other = run_cli("start", "3", env=env, cwd=str(folder))  # a sibling, not a nested folder
    assert other.returncode == 0, other.stderr
    assert (tmp_path / "sockteach-work" / "03-connection-loop" / "server.py").is_file()
    assert not (folder / "sockteach-work").exists()
    top = run_cli("start", "8", env=env, cwd=str(tmp_path / "sockteach-work"))
    assert top.returncode == 0, top.stderr
    assert (tmp_path / "sockteach-work" / "08-timeouts").is_dir()
    assert not (tmp_path / "sockteach-work" / "sockteach-work").exists()


def test_check_without_a_path_says_which_file(tmp_path):
    import shutil

    from conftest import ROOT
    from sockteach import exercises

    env = {"SOCKTEACH_HOME": str(tmp_path / "home"), "SOCKTEACH_LANG": "en", "COLUMNS": "200"}
    assert run_cli("start", "1", env=env, cwd=str(tmp_path)).returncode == 0
    work = run_cli("check", "1", env=env, cwd=str(tmp_path))  # the starter: no listen()
    assert work.returncode == 1
    assert "sockteach-work/01-naive-echo/server.py: the file in your work folder" in work.stderr
    assert "✘ 2. listens on a loopback port" in work.stdout
    shutil.copyfile(exercises.get(1).solution, tmp_path / "server.py")  # one here wins
    here = run_cli("check", "1", env=env, cwd=str(tmp_path))
    assert here.returncode == 0, here.stdout + here.stderr
    assert "checking ./server.py: the file in this folder" in here.stderr
    zh = run_cli("check", "1", env={**env, "SOCKTEACH_LANG": "zh"}, cwd=str(tmp_path))
    assert "检查 ./server.py：当前文件夹里的文件" in zh.stderr
    # the list shows the last check: passed now; a failing check after it shows the failure
    assert "✔ passed" in run_cli("list", env=env, cwd=str(tmp_path)).stdout
    shutil.copy(ROOT / "tests/fixtures/exercises/ex01/bad_no_accept.py", tmp_path / "server.py")
    assert run_cli("check", "1", env=env, cwd=str(tmp_path)).returncode == 1
    listed = run_cli("list", env=env, cwd=str(tmp_path)).stdout
    assert "✔ passed" not in listed and "(passed before)" in listed
