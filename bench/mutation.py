"""Mutation run: does each editorial rule have a test that fails when the rule changes?

Every mutant is one small change to one module of the given paths (a comparison turned around or made
strict, `and` for `or`, + for -, a `not` dropped, a number moved by one, True for False); the given tests run
against it, and a mutant is *killed* when they fail. Survivors are printed with their line, so a rule no
test pins down can be seen. Mutants run in parallel, each worker in its own copy of the checkout.

    .venv/bin/python bench/mutation.py composer/curate --tests tests/test_curate.py tests/test_relevance.py \\
        tests/test_selection.py [--jobs 2] [--limit N]

(mutmut 3 would need its configuration in pyproject.toml and copies of seeds/ and config/ in its mutants/
folder; this runner needs nothing but the standard library and pytest.)
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.And: ast.Or, ast.Or: ast.And, ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
}


@dataclass(frozen=True)
class Mutant:
    path: Path
    index: int
    line: int
    change: str


class _Mutator(ast.NodeTransformer):
    """Finds the mutation sites of a module (target None) or applies the `target`-th one."""

    def __init__(self, target: int | None = None) -> None:
        self.target = target
        self.sites: list[tuple[int, str]] = []

    def _site(self, node: ast.AST, change: str) -> bool:
        self.sites.append((getattr(node, "lineno", 0), change))
        return self.target == len(self.sites) - 1

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return node  # a docstring
        return self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node  # the annotation is no rule

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.body = [self.visit(statement) for statement in node.body]
        node.args.defaults = [self.visit(default) for default in node.args.defaults]
        return node  # annotations and decorators are no rules

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for position, op in enumerate(node.ops):
            swap = _SWAPS.get(type(op))
            if swap and self._site(node, f"{type(op).__name__} -> {swap.__name__}"):
                node.ops[position] = swap()
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        swap = _SWAPS[type(node.op)]
        if self._site(node, f"{type(node.op).__name__} -> {swap.__name__}"):
            node.op = swap()
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        swap = _SWAPS.get(type(node.op))
        if swap and not _is_text(node) and self._site(node, f"{type(node.op).__name__} -> {swap.__name__}"):
            node.op = swap()
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and self._site(node, "not dropped"):
            return node.operand
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool):
            if self._site(node, f"{value} -> {not value}"):
                return ast.copy_location(ast.Constant(not value), node)
        elif isinstance(value, int | float):
            moved = value + 1 if isinstance(value, int) else (value * 2 or 1.0)
            if self._site(node, f"{value} -> {moved}"):
                return ast.copy_location(ast.Constant(moved), node)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        return node  # message text is no rule


def _is_text(node: ast.BinOp) -> bool:
    return any(isinstance(side, ast.Constant) and isinstance(side.value, str) for side in (node.left, node.right))


def mutants(path: Path) -> list[Mutant]:
    finder = _Mutator()
    finder.visit(ast.parse(path.read_text(encoding="utf-8")))
    return [Mutant(path, index, line, change) for index, (line, change) in enumerate(finder.sites)]


def _mutated_source(mutant: Mutant) -> str:
    tree = ast.parse(mutant.path.read_text(encoding="utf-8"))
    tree = _Mutator(mutant.index).visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree))


def _run_tests(checkout: Path, tests: list[str], timeout: float) -> bool:
    """True when the tests pass in `checkout` (the mutant survived)."""
    try:
        # The copy's package first: the editable install would import the checkout's own.
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                              cwd=checkout, env=env, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return False  # a mutant that hangs the tests is caught
    return done.returncode == 0


def _copy(workdir: Path, number: int) -> Path:
    target = workdir / f"checkout{number}"
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(".venv", ".git", "out", "mutants", "__pycache__",
                                                                 ".cache", "*.egg-info"))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="modules or packages to mutate")
    parser.add_argument("--tests", nargs="+", required=True, help="the tests that must kill the mutants")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, help="only the first N mutants (a quick look)")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    modules = sorted({file for path in args.paths for file in ([path] if path.is_file() else path.rglob("*.py"))})
    todo = [mutant for module in modules for mutant in mutants((ROOT / module).resolve())][: args.limit]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutation-") as temp:
        checkouts = [_copy(Path(temp), number) for number in range(args.jobs)]
        if not _run_tests(checkouts[0], args.tests, args.timeout):
            sys.exit("the tests fail before any mutation; fix them first")
        free = list(checkouts)

        def run(mutant: Mutant) -> tuple[Mutant, bool]:
            checkout = free.pop()
            target = checkout / mutant.path.relative_to(ROOT)
            original = target.read_text(encoding="utf-8")
            try:
                target.write_text(_mutated_source(mutant), encoding="utf-8")
                return mutant, _run_tests(checkout, args.tests, args.timeout)
            finally:
                target.write_text(original, encoding="utf-8")
                free.append(checkout)

        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(run, todo))
    survivors = [mutant for mutant, survived in results if survived]
    killed = len(results) - len(survivors)
    print("| paths | mutants | killed | survived | kill rate | minutes |\n| --- | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {' '.join(map(str, args.paths))} | {len(results)} | {killed} | {len(survivors)} | "
          f"{killed / max(1, len(results)):.0%} | {(time.monotonic() - started) / 60:.0f} |\n")
    for mutant in survivors:
        print(f"survived: {mutant.path.relative_to(ROOT)}:{mutant.line}: {mutant.change}")


if __name__ == "__main__":
    main()
