"""How strong is the grader? Mutants of every reference solution, graded.

Each operator makes small, named changes to a solution's syntax tree (stdlib :mod:`ast`, written
back with :func:`ast.unparse`): drop ``.upper()``, turn ``break`` into ``continue``, remove a
``try``, delete or move a call such as ``setsockopt``, run a loop's body only once, close the
listener inside a loop, shrink ``recv(1024)`` to ``recv(1)``… Every mutant that compiles and
differs from the others is graded by :func:`sockteach.grading.grade`, like a learner's file,
in one batch with two unchanged copies of the solution (controls: if one fails, grading is not
reliable right now and the report says so).

A mutant the checks reject is *rejected*. One that passes *survives*: it is either equivalent
— it behaves like the solution wherever the task says anything; ``mutants.toml`` says why, one
by one, and a mutant that only touches code that never runs needs no entry — or a *gap*: a bug
the checks miss. ``mutants.toml`` also lists known gaps (of exercises whose checks this tool
does not own), so that only new ones fail the run.

    python -m qa.mutate [N ...] [--jobs 4] [--repeat 2] [--json | --markdown] [--list]

Exit status 1 when a control failed, a survivor is neither equivalent nor a known gap, or a
mutant listed as equivalent was rejected (a stale list, or flaky grading).
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

__all__ = ["Mutant", "Made", "Report", "mutants", "OPERATORS", "EQUIVALENT", "KNOWN_GAPS",
           "run", "run_exercise", "main"]

# A path from the module to a node: (field name, index or None) steps.
NodePath = tuple[tuple[str, "int | None"], ...]

STR_METHODS = ("upper", "lower", "strip", "rstrip", "lstrip", "encode", "decode", "title",
               "capitalize", "swapcase")
METHOD_SWAPS = {"upper": "lower", "lower": "upper", "send": "sendall", "sendall": "send"}
NAME_SWAPS = {"SO_REUSEADDR": "SO_REUSEPORT", "SOCK_STREAM": "SOCK_DGRAM",
              "SOCK_DGRAM": "SOCK_STREAM"}
RECV_METHODS = ("recv", "recvfrom", "recv_into", "recvfrom_into", "read")
COMPARE_FLIPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                 ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
                 ast.In: ast.NotIn, ast.NotIn: ast.In}
LOOPBACK = "127.0.0.1"
ANY_ADDRESS = "0.0.0.0"


@dataclass(frozen=True)
class Mutant:
    """One change to a solution: the operator, the line it touches, what it does, and the
    new source (unparsed). ``dead``: it only changes code that can never run."""

    op: str
    line: int
    what: str
    source: str
    dead: bool = False

    @property
    def key(self) -> str:
        """A stable name: ``op Lline: what`` (the key of :data:`EQUIVALENT`)."""
        return f"{self.op} L{self.line}: {self.what}"


@dataclass(frozen=True)
class Edit:
    """What an operator proposes: where, what, and how to apply it to a copy of the tree."""

    line: int
    what: str
    apply: Callable[[ast.Module], None]
    targets: tuple[NodePath, ...] = ()  # the nodes it changes, in the solution
    moved_to: tuple[NodePath, ...] = ()  # where a moved statement lands, in the mutant


# ---------------------------------------------------------------- tree helpers


def _walk(node: ast.AST, path: NodePath = ()) -> Iterator[tuple[NodePath, ast.AST]]:
    """Every node with its path, parents before children, in source order."""
    yield path, node
    for name, value in ast.iter_fields(node):
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, ast.AST):
                    yield from _walk(item, path + ((name, i),))
        elif isinstance(value, ast.AST):
            yield from _walk(value, path + ((name, None),))


def _at(tree: ast.AST, path: NodePath) -> ast.AST:
    node = tree
    for name, i in path:
        node = getattr(node, name) if i is None else getattr(node, name)[i]
    return node


def _replace(tree: ast.AST, path: NodePath, new: ast.AST) -> None:
    parent = _at(tree, path[:-1])
    name, i = path[-1]
    if i is None:
        setattr(parent, name, new)
    else:
        getattr(parent, name)[i] = new


def _body(tree: ast.AST, path: NodePath) -> tuple[list, int]:
    """The statement list holding the statement at ``path``, and its index."""
    parent = _at(tree, path[:-1])
    name, i = path[-1]
    return getattr(parent, name), i


def _set_stmts(tree: ast.AST, path: NodePath, stmts: list) -> None:
    """Put ``stmts`` where the statement at ``path`` was (``pass`` if that empties a body)."""
    body, i = _body(tree, path)
    body[i:i + 1] = stmts
    if not body:
        body.append(ast.Pass())


def _short(node: ast.AST, width: int = 48) -> str:
    text = ast.unparse(node).splitlines()[0]
    return text if len(text) <= width else text[:width - 1] + "…"


def _is_stmt_list(path: NodePath) -> bool:
    return bool(path) and path[-1][1] is not None and path[-1][0] in (
        "body", "orelse", "finalbody")


def _call_stmt(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)


def _guard(node: ast.AST) -> bool:
    """``if …: break`` / ``continue`` / ``return`` with no else."""
    return (isinstance(node, ast.If) and not node.orelse and len(node.body) == 1
            and isinstance(node.body[0], (ast.Break, ast.Continue, ast.Return)))


def _always_true(test: ast.AST) -> bool:
    return isinstance(test, ast.Constant) and bool(test.value)


def _own_breaks(loop: ast.AST) -> bool:
    """Does ``loop`` contain a ``break`` that ends this loop (not an inner one)?"""
    stack = list(loop.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break):
            return True
        if isinstance(node, (ast.While, ast.For, ast.AsyncFor, ast.FunctionDef,
                             ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(getattr(node, "orelse", []))  # an inner loop's else is ours
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def dead_paths(tree: ast.Module) -> set[NodePath]:
    """Statements that can never run: after ``return``/``break``/``continue``/``raise``, or
    after a ``while True:`` loop that never breaks, in the same body (and all inside them)."""
    dead: set[NodePath] = set()
    for path, node in _walk(tree):
        for name in ("body", "orelse", "finalbody"):
            stmts = getattr(node, name, None)
            if not isinstance(stmts, list):
                continue
            ended = False
            for i, stmt in enumerate(stmts):
                if not isinstance(stmt, ast.stmt):
                    continue
                if ended:
                    dead.add(path + ((name, i),))
                if isinstance(stmt, (ast.Return, ast.Break, ast.Continue, ast.Raise)) or (
                        isinstance(stmt, ast.While) and _always_true(stmt.test)
                        and not _own_breaks(stmt)):
                    ended = True
    return dead


def _in_dead(path: NodePath, dead: set[NodePath]) -> bool:
    return any(path[:n] in dead for n in range(1, len(path) + 1))


# ---------------------------------------------------------------- operators


def drop_method(tree: ast.Module) -> Iterator[Edit]:
    """``x.upper()`` → ``x`` (also lower, strip, encode, decode…)."""
    for path, node in _walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in STR_METHODS):
            what = f"{_short(node)} → {_short(node.func.value)}"
            yield Edit(node.lineno, what, lambda t, p=path: _replace(
                t, p, _at(t, p).func.value), (path,))


def swap_method(tree: ast.Module) -> Iterator[Edit]:
    """``.upper()`` ↔ ``.lower()``, ``.send()`` ↔ ``.sendall()``."""
    for path, node in _walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in METHOD_SWAPS):
            new = METHOD_SWAPS[node.func.attr]

            def apply(t: ast.Module, p: NodePath = path, new: str = new) -> None:
                _at(t, p).func.attr = new

            yield Edit(node.lineno, f".{node.func.attr}() → .{new}()", apply, (path,))


def break_continue(tree: ast.Module) -> Iterator[Edit]:
    """``break`` ↔ ``continue``."""
    for path, node in _walk(tree):
        if isinstance(node, (ast.Break, ast.Continue)):
            new = ast.Continue() if isinstance(node, ast.Break) else ast.Break()
            what = f"{_short(node)} → {_short(new)}"
            yield Edit(node.lineno, what, lambda t, p=path, n=new: _replace(
                t, p, copy.copy(n)), (path,))


def remove_try(tree: ast.Module) -> Iterator[Edit]:
    """``try: body except …: …`` → ``body`` (its ``else`` and ``finally`` kept)."""
    for path, node in _walk(tree):
        if isinstance(node, ast.Try) and node.handlers:
            def apply(t: ast.Module, p: NodePath = path) -> None:
                n = _at(t, p)
                _set_stmts(t, p, n.body + n.orelse + n.finalbody)

            names = ", ".join(_short(h.type) if h.type else "bare" for h in node.handlers)
            yield Edit(node.lineno, f"try/except {names} removed", apply, (path,))


def drop_handler(tree: ast.Module) -> Iterator[Edit]:
    """One ``except`` clause removed from a ``try`` that has several."""
    for path, node in _walk(tree):
        if isinstance(node, ast.Try) and len(node.handlers) > 1:
            for i, h in enumerate(node.handlers):
                def apply(t: ast.Module, p: NodePath = path, i: int = i) -> None:
                    del _at(t, p).handlers[i]

                name = _short(h.type) if h.type else "bare"
                yield Edit(h.lineno, f"except {name} removed", apply, (path,))


def delete_stmt(tree: ast.Module) -> Iterator[Edit]:
    """A call statement (``phone.setsockopt(…)``, ``conn.close()``, ``print(…)``) deleted."""
    for path, node in _walk(tree):
        if _call_stmt(node) and _is_stmt_list(path):
            yield Edit(node.lineno, f"{_short(node)} deleted",
                       lambda t, p=path: _set_stmts(t, p, []), (path,))


def move_down(tree: ast.Module) -> Iterator[Edit]:
    """A call statement or an ``if …: continue`` guard moved after a later statement of the
    same block (``setsockopt`` after ``bind``; ``send`` before the empty-input check)."""
    for path, node in _walk(tree):
        if not (_is_stmt_list(path) and (_call_stmt(node) or _guard(node))):
            continue
        body = _body(tree, path)[0]
        i = path[-1][1]
        for j in range(i + 1, len(body)):
            def apply(t: ast.Module, p: NodePath = path, j: int = j) -> None:
                stmts, k = _body(t, p)
                stmt = stmts.pop(k)
                stmts.insert(j, stmt)  # j - 1 after the pop, then after it: j

            yield Edit(node.lineno, f"{_short(node, 60)} moved after {_short(body[j], 60)}",
                       apply, (path,), (path[:-1] + ((path[-1][0], j),),))


def move_up(tree: ast.Module) -> Iterator[Edit]:
    """A call statement moved before an earlier statement of the same block (``listen``
    before ``bind``, ``conn.close()`` before the communication loop)."""
    for path, node in _walk(tree):
        if not (_is_stmt_list(path) and _call_stmt(node)):
            continue
        body = _body(tree, path)[0]
        i = path[-1][1]
        for j in range(i):
            if isinstance(body[j], (ast.Import, ast.ImportFrom)):
                continue  # before an import: a NameError, nothing to learn

            def apply(t: ast.Module, p: NodePath = path, j: int = j) -> None:
                stmts, k = _body(t, p)
                stmts.insert(j, stmts.pop(k))

            yield Edit(node.lineno, f"{_short(node, 60)} moved before {_short(body[j], 60)}",
                       apply, (path,), (path[:-1] + ((path[-1][0], j),),))


def unwrap_loop(tree: ast.Module) -> Iterator[Edit]:
    """A ``while`` loop's body runs once (``for _ in range(1):``, so break/continue still
    compile): drop the connection loop, or the communication loop."""
    for path, node in _walk(tree):
        if isinstance(node, ast.While):
            def apply(t: ast.Module, p: NodePath = path) -> None:
                n = _at(t, p)
                once = ast.For(target=ast.Name("_once", ast.Store()),
                               iter=ast.Call(ast.Name("range", ast.Load()), [ast.Constant(1)], []),
                               body=n.body, orelse=[], lineno=n.lineno)
                _replace(t, p, once)

            yield Edit(node.lineno, f"{_short(node)} runs once", apply, (path,))


def _socket_names(tree: ast.Module) -> list[str]:
    """Names bound to sockets: ``x=socket(…)``, ``conn,addr=x.accept()``."""
    names: list[str] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        func = node.value.func
        fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        target = node.targets[0]
        if fname in ("socket", "create_connection") and isinstance(target, ast.Name):
            name = target.id
        elif fname == "accept" and isinstance(target, ast.Tuple) and target.elts and \
                isinstance(target.elts[0], ast.Name):
            name = target.elts[0].id
        else:
            continue
        if name not in names:
            names.append(name)
    return names


def close_in_loop(tree: ast.Module) -> Iterator[Edit]:
    """``sock.close()`` added at the end of a loop body, for each socket name."""
    socks = _socket_names(tree)
    for path, node in _walk(tree):
        if not isinstance(node, (ast.While, ast.For)):
            continue
        for name in socks:
            def apply(t: ast.Module, p: NodePath = path, name: str = name) -> None:
                call = ast.Expr(ast.Call(ast.Attribute(ast.Name(name, ast.Load()), "close",
                                                       ast.Load()), [], []))
                _at(t, p).body.append(call)

            yield Edit(node.lineno, f"{name}.close() at the end of {_short(node)}", apply, (path,))


def remove_guard(tree: ast.Module) -> Iterator[Edit]:
    """``if not data:break`` (a guard that leaves the loop or asks again) removed."""
    for path, node in _walk(tree):
        if _guard(node) and _is_stmt_list(path):
            yield Edit(node.lineno, f"{_short(node)} removed",
                       lambda t, p=path: _set_stmts(t, p, []), (path,))


def negate_if(tree: ast.Module) -> Iterator[Edit]:
    """``if not x`` ↔ ``if x`` (also a ``while`` condition that is not a constant)."""
    for path, node in _walk(tree):
        if not isinstance(node, (ast.If, ast.While)) or isinstance(node.test, ast.Constant):
            continue
        test = node.test
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            new_text = _short(test.operand)
        else:
            new_text = f"not {_short(test)}"

        def apply(t: ast.Module, p: NodePath = path) -> None:
            n = _at(t, p)
            if isinstance(n.test, ast.UnaryOp) and isinstance(n.test.op, ast.Not):
                n.test = n.test.operand
            else:
                n.test = ast.UnaryOp(ast.Not(), n.test)

        yield Edit(node.lineno, f"condition {_short(test)} → {new_text}", apply, (path,))


def flip_compare(tree: ast.Module) -> Iterator[Edit]:
    """``<`` ↔ ``<=``, ``==`` ↔ ``!=``, ``is`` ↔ ``is not``…"""
    for path, node in _walk(tree):
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                flip = COMPARE_FLIPS.get(type(op))
                if flip is None:
                    continue

                def apply(t: ast.Module, p: NodePath = path, i: int = i,
                          flip: type = flip) -> None:
                    _at(t, p).ops[i] = flip()

                new = copy.deepcopy(node)
                new.ops[i] = flip()
                yield Edit(node.lineno, f"{_short(node)} → {_short(new)}", apply, (path,))


def _recv_size_paths(tree: ast.Module) -> set[NodePath]:
    out = set()
    for path, node in _walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in RECV_METHODS and node.args
                and isinstance(node.args[0], ast.Constant) and type(node.args[0].value) is int):
            out.add(path + (("args", 0),))
    return out


def recv_size(tree: ast.Module) -> Iterator[Edit]:
    """``recv(1024)`` → ``recv(1)`` and → ``recv(2048)``."""
    for path in sorted(_recv_size_paths(tree)):
        node = _at(tree, path)
        call = _at(tree, path[:-1])
        for new in (1, node.value * 2):
            if new == node.value:
                continue
            yield Edit(node.lineno, f".{call.func.attr}({node.value}) → .{call.func.attr}({new})",
                       lambda t, p=path, v=new: _replace(t, p, ast.Constant(v)), (path,))


def int_constant(tree: ast.Module) -> Iterator[Edit]:
    """An int constant ``n`` → ``n+1`` and → ``0`` (port 8081 → 8082, listen(5) → 6…)."""
    skip = _recv_size_paths(tree)
    for path, node in _walk(tree):
        if not (isinstance(node, ast.Constant) and type(node.value) is int) or path in skip:
            continue
        for new in dict.fromkeys((node.value + 1, 0)):
            if new == node.value:
                continue
            yield Edit(node.lineno, f"{node.value} → {new} in {_short(_stmt_of(tree, path))}",
                       lambda t, p=path, v=new: _replace(t, p, ast.Constant(v)), (path,))


def _stmt_of(tree: ast.Module, path: NodePath) -> ast.AST:
    """The innermost statement holding the node at ``path``."""
    for n in range(len(path), 0, -1):
        node = _at(tree, path[:n])
        if isinstance(node, ast.stmt):
            return node
    return tree


def host_constant(tree: ast.Module) -> Iterator[Edit]:
    """``'127.0.0.1'`` → ``'0.0.0.0'`` (every interface)."""
    for path, node in _walk(tree):
        if isinstance(node, ast.Constant) and node.value == LOOPBACK:
            yield Edit(node.lineno, f"'{LOOPBACK}' → '{ANY_ADDRESS}'",
                       lambda t, p=path: _replace(t, p, ast.Constant(ANY_ADDRESS)), (path,))


def encoding(tree: ast.Module) -> Iterator[Edit]:
    """``.encode('utf-8')`` / ``.decode('utf-8')`` → ``'ascii'`` (fine until someone types 你好)."""
    for path, node in _walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("encode", "decode") and node.args
                and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).lower().replace("_", "-") in ("utf-8", "utf8")):
            arg = path + (("args", 0),)
            yield Edit(node.lineno, f".{node.func.attr}({node.args[0].value!r}) → "
                       f".{node.func.attr}('ascii')",
                       lambda t, p=arg: _replace(t, p, ast.Constant("ascii")), (path,))


def add_newline(tree: ast.Module) -> Iterator[Edit]:
    """What is sent gets a ``b'\\n'`` more: ``send(x)`` → ``send(x + b'\\n')``."""
    for path, node in _walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("send", "sendall", "sendto", "write") and node.args):
            arg = path + (("args", 0),)

            def apply(t: ast.Module, p: NodePath = arg) -> None:
                _replace(t, p, ast.BinOp(_at(t, p), ast.Add(), ast.Constant(b"\n")))

            yield Edit(node.lineno, f".{node.func.attr}(x) → .{node.func.attr}(x + b'\\n')",
                       apply, (path,))


def swap_name(tree: ast.Module) -> Iterator[Edit]:
    """``SO_REUSEADDR`` → ``SO_REUSEPORT``, ``SOCK_STREAM`` ↔ ``SOCK_DGRAM``."""
    for path, node in _walk(tree):
        if isinstance(node, ast.Name) and node.id in NAME_SWAPS and \
                isinstance(node.ctx, ast.Load):
            new = NAME_SWAPS[node.id]
            yield Edit(node.lineno, f"{node.id} → {new}",
                       lambda t, p=path, n=new: _replace(t, p, ast.Name(n, ast.Load())), (path,))


def early_return(tree: ast.Module) -> Iterator[Edit]:
    """A function returns at once (``return`` first in its body)."""
    for path, node in _walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            def apply(t: ast.Module, p: NodePath = path) -> None:
                _at(t, p).body.insert(0, ast.Return(None))

            yield Edit(node.lineno, f"{node.name}() returns at once", apply, (path,))


OPERATORS: dict[str, Callable[[ast.Module], Iterable[Edit]]] = {
    "drop_method": drop_method,
    "swap_method": swap_method,
    "break_continue": break_continue,
    "remove_try": remove_try,
    "drop_handler": drop_handler,
    "delete_stmt": delete_stmt,
    "move_down": move_down,
    "move_up": move_up,
    "unwrap_loop": unwrap_loop,
    "close_in_loop": close_in_loop,
    "remove_guard": remove_guard,
    "negate_if": negate_if,
    "flip_compare": flip_compare,
    "recv_size": recv_size,
    "int_constant": int_constant,
    "host_constant": host_constant,
    "encoding": encoding,
    "add_newline": add_newline,
    "swap_name": swap_name,
    "early_return": early_return,
}


@dataclass
class Made:
    """What the operators made of one source: unique mutants, and what was left out."""

    original: str  # the solution, unparsed (the baseline of every diff)
    mutants: list[Mutant] = field(default_factory=list)
    stillborn: list[tuple[Mutant, str]] = field(default_factory=list)  # does not compile
    duplicates: list[tuple[Mutant, str]] = field(default_factory=list)  # (mutant, key of twin)
    unchanged: list[Mutant] = field(default_factory=list)  # same source as the solution

    @property
    def made(self) -> int:
        return len(self.mutants) + len(self.stillborn) + len(self.duplicates) + \
            len(self.unchanged)


def _dead_edit(edit: Edit, dead: set[NodePath], mutated: ast.Module) -> bool:
    """Does ``edit`` only change code that never runs — in the solution, and where a moved
    statement lands in the mutant?"""
    if not edit.targets or not all(_in_dead(p, dead) for p in edit.targets):
        return False
    if edit.moved_to:
        now_dead = dead_paths(mutated)
        return all(_in_dead(p, now_dead) for p in edit.moved_to)
    return True


def mutants(source: str, operators: Iterable[str] | None = None) -> Made:
    """Every mutant of ``source`` (Python source text) by the named operators (default all).
    Deduplicated by unparsed source; those that do not compile are set apart."""
    tree = ast.parse(source)
    dead = dead_paths(tree)
    original = ast.unparse(tree)
    made = Made(original)
    seen: dict[str, str] = {original: ""}
    for name in operators or OPERATORS:
        for edit in OPERATORS[name](tree):
            t = copy.deepcopy(tree)
            edit.apply(t)
            ast.fix_missing_locations(t)
            text = ast.unparse(t)
            m = Mutant(name, edit.line, edit.what, text + "\n", dead=_dead_edit(edit, dead, t))
            if text in seen:
                if seen[text] == "":
                    made.unchanged.append(m)
                else:
                    made.duplicates.append((m, seen[text]))
                continue
            seen[text] = m.key
            try:
                compile(text, "<mutant>", "exec")
            except SyntaxError as exc:
                made.stillborn.append((m, f"{type(exc).__name__}: {exc.msg}"))
                continue
            made.mutants.append(m)
    return made


def diff(original: str, mutated: str, context: int = 1) -> str:
    """A unified diff of two unparsed sources."""
    lines = difflib.unified_diff(original.splitlines(), mutated.rstrip("\n").splitlines(),
                                 "solution", "mutant", n=context, lineterm="")
    return "\n".join(list(lines)[2:])


# ---------------------------------------------------------------- judgements

JUDGEMENTS = Path(__file__).with_name("mutants.toml")


def _judgements() -> tuple[dict[int, dict[str, str]], dict[int, dict[str, str]]]:
    """``mutants.toml``: the equivalent survivors and the known gaps, each with its reason."""
    from sockteach.i18n import tomllib

    with JUDGEMENTS.open("rb") as f:
        data = tomllib.load(f)
    reasons = data.get("reasons", {})

    def table(name: str) -> dict[int, dict[str, str]]:
        return {int(n): {key: reasons[why] for key, why in rows.items()}
                for n, rows in data.get(name, {}).items()}

    return table("equivalent"), table("gap")


EQUIVALENT, KNOWN_GAPS = _judgements()
DEAD = ("it only changes code that never runs (after a `while True:` loop that never breaks, "
        "or after a break/continue/return)")


def equivalent_reason(number: int, m: Mutant) -> str | None:
    """Why mutant ``m`` of exercise ``number`` is equivalent, if it is."""
    reason = EQUIVALENT.get(number, {}).get(m.key)
    if reason is None and m.dead:
        reason = DEAD
    return reason


# ---------------------------------------------------------------- grading


@dataclass
class Outcome:
    """One graded mutant."""

    key: str
    op: str
    line: int
    what: str
    verdict: str  # "rejected" or "survived"
    rejected_by: str | None = None  # the first failing check
    message: str = ""  # its message (first line)
    equivalent: str | None = None  # why it is equivalent (from EQUIVALENT, or dead code)
    known_gap: str | None = None  # a gap already reported (exercises 5–12, KNOWN_GAPS)
    dead: bool = False
    diff: str = ""
    seconds: float = 0.0
    rounds: str = ""  # one letter per grading: R rejected, S survived ("RS": mixed verdicts)


@dataclass
class Report:
    """Mutation results for one exercise."""

    number: int
    title: str
    solution: str
    status: str = "graded"  # or "skipped: …"
    made: int = 0
    stillborn: int = 0
    duplicates: int = 0
    unchanged: int = 0
    controls_passed: bool = True
    control_failures: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    stillborn_list: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def graded(self) -> int:
        return len(self.outcomes)

    @property
    def rejected(self) -> int:
        return sum(o.verdict == "rejected" for o in self.outcomes)

    @property
    def survived(self) -> int:
        return sum(o.verdict == "survived" for o in self.outcomes)

    @property
    def equivalent(self) -> int:
        return sum(o.verdict == "survived" and o.equivalent is not None for o in self.outcomes)

    @property
    def gaps(self) -> list[Outcome]:
        """Survivors that are not equivalent: mutants the checks should reject and do not."""
        return [o for o in self.outcomes if o.verdict == "survived" and o.equivalent is None]

    @property
    def unexplained(self) -> list[Outcome]:
        """Gaps not already known and reported."""
        return [o for o in self.gaps if o.known_gap is None]

    @property
    def misjudged(self) -> list[Outcome]:
        """Rejected mutants listed as equivalent: the list is stale, or grading is flaky."""
        return [o for o in self.outcomes if o.verdict == "rejected" and o.equivalent]

    @property
    def mixed(self) -> list[Outcome]:
        """Mutants graded differently in different rounds (``--repeat``): flaky grading."""
        return [o for o in self.outcomes if len(set(o.rounds)) > 1]

    @property
    def score(self) -> float | None:
        """Share of the non-equivalent mutants that the checks reject."""
        relevant = [o for o in self.outcomes if o.equivalent is None]
        if not relevant:
            return None
        return sum(o.verdict == "rejected" for o in relevant) / len(relevant)

    @property
    def ok(self) -> bool:
        """Controls passed, no unknown gap, nothing listed as equivalent was rejected."""
        return (self.status == "graded" and self.controls_passed and not self.unexplained
                and not self.misjudged)

    @classmethod
    def from_dict(cls, d: dict) -> "Report":
        """A report back from its ``to_dict()`` form (the ``--json`` output)."""
        names = {f for f in cls.__dataclass_fields__}
        r = cls(**{k: v for k, v in d.items() if k in names and k != "outcomes"})
        r.outcomes = [Outcome(**o) for o in d.get("outcomes", [])]
        return r

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(graded=self.graded, rejected=self.rejected, survived=self.survived,
                 equivalent_count=self.equivalent, gaps=[o.key for o in self.gaps],
                 unexplained=[o.key for o in self.unexplained],
                 misjudged=[o.key for o in self.misjudged],
                 mixed=[o.key for o in self.mixed], score=self.score, ok=self.ok)
        return d


def _first_failure(result) -> tuple[str | None, str]:
    for c in result.checks:
        if not c.passed:
            return c.name, (c.message.splitlines() or [""])[0]
    return None, ""


def run_exercise(number: int, *, jobs: int = 4, operators: Iterable[str] | None = None,
                 only: Callable[[Mutant], bool] | None = None, repeat: int = 1,
                 controls: int = 2, budget: float | None = None,
                 progress: Callable[[str], None] | None = None) -> Report:
    """Make the mutants of exercise ``number``'s solution and grade them (``jobs`` at a time),
    together with ``controls`` copies of the unchanged solution. With ``repeat`` > 1 a mutant
    counts as rejected only if every grading rejects it."""
    from sockteach import exercises, grading

    started = time.monotonic()
    ex = exercises.get(number)
    source = ex.solution.read_text(encoding="utf-8")
    made = mutants(source, operators)
    report = Report(number, ex.title.get("en", ""), str(ex.solution), made=made.made,
                    stillborn=len(made.stillborn), duplicates=len(made.duplicates),
                    unchanged=len(made.unchanged))
    report.stillborn_list = [{"key": m.key, "error": err} for m, err in made.stillborn]
    chosen = [m for m in made.mutants if only is None or only(m)]
    kwargs = {} if budget is None else {"budget": budget}
    with tempfile.TemporaryDirectory(prefix="sockteach-mutants-") as tmp:
        folder = Path(tmp)
        control_paths = []
        for i in range(controls):
            p = folder / f"control_{i}.py"
            p.write_text(made.original + "\n", encoding="utf-8")
            control_paths.append(p)
        paths = []
        for i, m in enumerate(chosen):
            p = folder / f"m{i:03d}_{m.op}.py"
            p.write_text(m.source, encoding="utf-8")
            paths.append(p)
        verdicts: list[list] = [[] for _ in chosen]
        for r in range(max(1, repeat)):
            if progress:
                progress(f"exercise {number}: grading {len(paths)} mutants and "
                         f"{len(control_paths)} controls (round {r + 1}, --jobs {jobs})")
            results = grading.grade(number, control_paths + paths, jobs=jobs, lang="en",
                                    **kwargs)
            for c, res in zip(control_paths, results):
                if not res.passed:
                    report.controls_passed = False
                    name, msg = _first_failure(res)
                    report.control_failures.append(f"{c.name}: {name}: {msg}")
            for v, res in zip(verdicts, results[len(control_paths):]):
                v.append(res)
        for m, results in zip(chosen, verdicts):
            survived = any(res.passed for res in results)
            failing = next((res for res in results if not res.passed), None)
            name, msg = _first_failure(failing) if failing is not None else (None, "")
            report.outcomes.append(Outcome(
                m.key, m.op, m.line, m.what, "survived" if survived else "rejected",
                None if survived else name, "" if survived else msg,
                equivalent_reason(number, m), KNOWN_GAPS.get(number, {}).get(m.key), m.dead,
                diff(made.original, m.source),
                round(max(res.seconds for res in results), 2),
                "".join("S" if res.passed else "R" for res in results)))
    report.seconds = round(time.monotonic() - started, 1)
    return report


def run(numbers: Iterable[int], **kwargs) -> list[Report]:
    """Reports for several exercises; an exercise whose solution does not pass its own
    checks now (scenario still being written) is reported as skipped."""
    from sockteach import exercises, grading

    reports = []
    for number in numbers:
        ex = exercises.get(number)
        try:
            base = grading.check(number, ex.solution, record=False)
        except Exception as exc:  # a scenario that does not load yet
            reports.append(Report(number, ex.title.get("en", ""), str(ex.solution),
                                  status=f"skipped: the grader fails ({type(exc).__name__}: "
                                  f"{exc})"))
            continue
        if not base.passed:
            name, msg = _first_failure(base)
            reports.append(Report(number, ex.title.get("en", ""), str(ex.solution),
                                  status=f"skipped: the solution fails {name} ({msg})"))
            continue
        reports.append(run_exercise(number, **kwargs))
    return reports


# ---------------------------------------------------------------- output


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def text_report(reports: list[Report], show_equivalent: bool = False) -> str:
    head = (f"{'ex':>3} {'made':>5} {'dup':>4} {'nocomp':>6} {'graded':>6} {'rejected':>8} "
            f"{'survived':>8} {'equiv':>5} {'gaps':>4} {'score':>6}  status")
    rows = [head, "-" * len(head)]
    for r in reports:
        if r.status != "graded":
            rows.append(f"{r.number:>3} {'':>5} {'':>4} {'':>6} {'':>6} {'':>8} {'':>8} "
                        f"{'':>5} {'':>4} {'':>6}  {r.status}")
            continue
        status = ("CONTROL FAILED" if not r.controls_passed else "NEW GAPS" if r.unexplained
                  else "MISJUDGED" if r.misjudged
                  else f"{len(r.gaps)} known gap(s)" if r.gaps else "ok")
        rows.append(f"{r.number:>3} {r.made:>5} {r.duplicates + r.unchanged:>4} "
                    f"{r.stillborn:>6} {r.graded:>6} {r.rejected:>8} {r.survived:>8} "
                    f"{r.equivalent:>5} {len(r.gaps):>4} {_pct(r.score):>6}  {status}")
    out = ["\n".join(rows)]
    for r in reports:
        for f in r.control_failures:
            out.append(f"exercise {r.number}: control failed: {f}")
        for o in r.misjudged:
            out.append(f"exercise {r.number}: listed as equivalent but rejected by "
                       f"{o.rejected_by}: {o.key}")
        for o in r.mixed:
            out.append(f"exercise {r.number}: mixed verdicts across rounds ({o.rounds}): "
                       f"{o.key}")
        for o in r.outcomes:
            if o.verdict != "survived" or (o.equivalent and not show_equivalent):
                continue
            label = ("equivalent" if o.equivalent else "known gap" if o.known_gap
                     else "SURVIVED")
            out.append(f"\nexercise {r.number} — {label}: {o.key}\n{o.diff}")
            if o.equivalent or o.known_gap:
                out.append(f"  why: {o.equivalent or o.known_gap}")
    return "\n".join(out)


def markdown_report(reports: list[Report]) -> str:
    """The tables and lists of docs/mutation.md (generated; the prose around it is not)."""
    out = ["| exercise | made | duplicates | do not compile | graded | rejected | survived | "
           "equivalent | gaps | rejected of non-equivalent |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in reports:
        if r.status != "graded":
            out.append(f"| {r.number} | | | | | | | | | {r.status} |")
            continue
        out.append(f"| {r.number} | {r.made} | {r.duplicates + r.unchanged} | {r.stillborn} | "
                   f"{r.graded} | {r.rejected} | {r.survived} | {r.equivalent} | "
                   f"{len(r.gaps)} | {_pct(r.score)} |")
    for r in reports:
        if r.status != "graded":
            continue
        out.append(f"\n### Exercise {r.number} — {r.title}\n")
        killers: dict[str, int] = {}
        for o in r.outcomes:
            if o.rejected_by:
                killers[o.rejected_by] = killers.get(o.rejected_by, 0) + 1
        out.append("Rejected by (first failing check): " + ", ".join(
            f"`{k}` {n}" for k, n in killers.items()) + ".\n")
        rejected = [o for o in r.outcomes if o.verdict == "rejected"]
        if rejected:
            out.append(f"<details><summary>the {len(rejected)} rejected mutants</summary>\n\n"
                       "| mutant | first failing check |\n|---|---|")
            out.extend("| `" + o.key.replace("|", "\\|") + f"` | `{o.rejected_by}` |"
                       for o in rejected)
            out.append("\n</details>\n")
        if not r.controls_passed:
            out.append("**Controls failed:** " + "; ".join(r.control_failures) + "\n")
        if r.mixed:
            out.append("**Mixed verdicts across rounds:** " + ", ".join(
                f"`{o.key}` ({o.rounds})" for o in r.mixed) + "\n")
        survivors = [o for o in r.outcomes if o.verdict == "survived"]
        if not survivors:
            out.append("No survivors.")
        groups: dict[tuple[str, str], list[Outcome]] = {}
        for o in survivors:  # one heading per reason, in order of first appearance
            if o.equivalent:
                head = ("Equivalent", o.equivalent)
            elif o.known_gap:
                head = ("**Gap** (for the lesson's owner)", o.known_gap)
            else:
                head = ("**Gap — new, not yet explained**", "")
            groups.setdefault(head, []).append(o)
        for (kind, why), members in groups.items():
            out.append(f"**{kind.strip('*')}** — {why}\n" if why and kind == "Equivalent"
                       else f"{kind}{' — ' + why if why else ''}\n")
            out.extend(f"- `{o.key}`" for o in members)
            out.append("\n<details><summary>the diffs</summary>\n\n```diff")
            for o in members:
                out.append(f"### {o.key}\n{o.diff}")
            out.append("```\n\n</details>\n")
        for o in r.misjudged:
            out.append(f"- listed as equivalent, yet rejected by `{o.rejected_by}`: `{o.key}`")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    from sockteach import exercises

    ap = argparse.ArgumentParser(prog="python -m qa.mutate", description=__doc__.split(
        "\n\n")[0])
    ap.add_argument("numbers", nargs="*", type=int,
                    help="exercises (default: every exercise with a solution)")
    ap.add_argument("--jobs", type=int, default=4, help="mutants graded at a time (default 4)")
    ap.add_argument("--op", action="append", choices=sorted(OPERATORS),
                    help="only this operator (repeatable)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="grade each mutant N times; rejected only if rejected every time")
    ap.add_argument("--list", action="store_true", help="make and list the mutants; no grading")
    ap.add_argument("--json", action="store_true", help="print the reports as JSON")
    ap.add_argument("--markdown", action="store_true", help="print the report as Markdown")
    ap.add_argument("--show-equivalent", action="store_true",
                    help="also show the equivalent survivors with their diffs and reasons")
    ap.add_argument("--render", metavar="JSON",
                    help="no grading: show the reports saved by an earlier --json run")
    args = ap.parse_args(argv)
    numbers = args.numbers or [ex.number for ex in exercises.all_exercises()
                               if ex.solution.is_file()]
    if args.list:
        for n in numbers:
            made = mutants(exercises.get(n).solution.read_text(encoding="utf-8"), args.op)
            print(f"exercise {n}: {len(made.mutants)} mutants ({len(made.duplicates)} "
                  f"duplicates, {len(made.unchanged)} unchanged, {len(made.stillborn)} do not "
                  "compile)")
            for m in made.mutants:
                reason = equivalent_reason(n, m)
                print(f"  {m.key}" + ("   [equivalent]" if reason else ""))
        return 0
    quiet = args.json or args.markdown
    progress = None if quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    if args.render:
        saved = json.loads(Path(args.render).read_text(encoding="utf-8"))
        reports = [Report.from_dict(d) for d in saved
                   if not args.numbers or d["number"] in args.numbers]
    else:
        reports = run(numbers, jobs=args.jobs, operators=args.op, repeat=args.repeat,
                      progress=progress)
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=1))
    elif args.markdown:
        print(markdown_report(reports))
    else:
        print(text_report(reports, args.show_equivalent))
    return 0 if all(r.ok or r.status != "graded" for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
