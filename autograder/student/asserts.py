"""In the kernel of ``course check``: a failing ``assert`` says which line failed and with what values.

:func:`install` adds an IPython AST transformer that rewrites the ``assert`` statements of a cell
(not those inside functions or classes) so that each operand is evaluated once, in Python's order,
and kept: a failing ``assert x.shape == (4, 2)`` then raises ``AssertionError`` with the statement's
line, the assert's own message and the value of ``x.shape``. Whether an assert passes never changes
(``assert a and b`` becomes ``assert a`` then ``assert b``; other forms keep their test and gain
only the line). Grading runs without it; only the messages of failing asserts differ.
"""
from __future__ import annotations

import ast
import operator
from typing import Any, Callable

HELPER_NAME = "__course_asserts__"
MAX_VALUE_CHARS = 400

_OPERATORS: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne), ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le), ast.Gt: (">", operator.gt), ast.GtE: (">=", operator.ge),
    ast.Is: ("is", operator.is_), ast.IsNot: ("is not", operator.is_not),
    ast.In: ("in", lambda item, container: item in container),
    ast.NotIn: ("not in", lambda item, container: item not in container),
}
_BY_SYMBOL = {symbol: function for symbol, function in _OPERATORS.values()}


def _shown(value: Any) -> str:
    """A short, readable text of a value: arrays with their shape and dtype, long texts cut."""
    if type(value).__module__ == "numpy" and type(value).__name__ == "ndarray":
        import numpy as np

        with np.printoptions(threshold=24, edgeitems=3, precision=6, linewidth=100):
            text = f"{value!r}  (shape {value.shape}, dtype {value.dtype})"
    else:
        text = repr(value)
    text = text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + " ..."
    return text.replace("\n", "\n      ")


def _explain(line: int, statement: str, message: Callable[[], Any] | None,
             values: list[tuple[str | None, Any]]) -> str:
    parts = [f"line {line}: {statement}"]
    if message is not None:
        parts.append(f"  {message()}")
    parts += [f"  {label} = {_shown(value)}" for label, value in values if label is not None]
    return "\n".join(parts)


def compare(left: Any, symbol: str, right: Any, line: int, statement: str, labels: tuple[str | None, str | None],
            message: Callable[[], Any] | None) -> None:
    """``assert left <symbol> right``, explained when it fails."""
    if not _BY_SYMBOL[symbol](left, right):
        raise AssertionError(_explain(line, statement, message, [(labels[0], left), (labels[1], right)]))


def call(line: int, statement: str, labels: tuple[str | None, ...], message: Callable[[], Any] | None,
         function: Callable, /, *args: Any, **kwargs: Any) -> None:
    """``assert function(*args, **kwargs)``, explained with the arguments when it fails."""
    if not function(*args, **kwargs):
        arguments = list(args) + list(kwargs.values())
        raise AssertionError(_explain(line, statement, message, list(zip(labels, arguments))))


def plain(value: Any, line: int, statement: str, message: Callable[[], Any] | None) -> None:
    """``assert value``, explained with its line when it fails."""
    if not value:
        raise AssertionError(_explain(line, statement, message, []))


def _label(node: ast.expr) -> str | None:
    """The text that names an operand, or None for a literal (its value is in the statement already)."""
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ast.unparse(node)
    return None


class _Explainer(ast.NodeTransformer):
    """Rewrites the asserts of a cell's module, leaving function and class bodies alone."""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return node

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return node

    def visit_Assert(self, node: ast.Assert) -> list[ast.stmt]:
        if isinstance(node.test, ast.BoolOp) and isinstance(node.test.op, ast.And):
            parts = [ast.copy_location(ast.Assert(test=value, msg=node.msg), node) for value in node.test.values]
            return [statement for part in parts for statement in self.visit_Assert(part)]
        statement = ast.unparse(node)
        message = (ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
                              body=node.msg) if node.msg is not None else ast.Constant(None))
        helper = ast.Name(HELPER_NAME, ast.Load())
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPERATORS:
            left, right = test.left, test.comparators[0]
            labels = ast.Tuple([ast.Constant(_label(left)), ast.Constant(_label(right))], ast.Load())
            checked = ast.Call(ast.Attribute(helper, "compare", ast.Load()),
                               [left, ast.Constant(_OPERATORS[type(test.ops[0])][0]), right,
                                ast.Constant(node.lineno), ast.Constant(statement), labels, message], [])
        elif (isinstance(test, ast.Call) and not any(isinstance(arg, ast.Starred) for arg in test.args)
              and all(keyword.arg is not None for keyword in test.keywords)):
            labels = ast.Tuple([ast.Constant(_label(arg)) for arg in test.args]
                               + [ast.Constant(f"{keyword.arg}={ast.unparse(keyword.value)}"
                                               if _label(keyword.value) else None) for keyword in test.keywords],
                               ast.Load())
            checked = ast.Call(ast.Attribute(helper, "call", ast.Load()),
                               [ast.Constant(node.lineno), ast.Constant(statement), labels, message, test.func,
                                *test.args], test.keywords)
        else:
            checked = ast.Call(ast.Attribute(helper, "plain", ast.Load()),
                               [test, ast.Constant(node.lineno), ast.Constant(statement), message], [])
        replacement = ast.copy_location(ast.Expr(checked), node)
        for child in ast.walk(replacement):  # new nodes take the assert's line, so tracebacks point at it
            if "lineno" in child._attributes and not hasattr(child, "lineno"):
                ast.copy_location(child, node)
        return [replacement]


def install(shell: Any) -> None:
    """Explain failing asserts in every cell ``shell`` (the kernel's IPython shell) runs from now on."""
    import sys

    shell.user_ns[HELPER_NAME] = sys.modules[__name__]
    shell.ast_transformers.append(_Explainer())
