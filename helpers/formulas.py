"""Arithmetic formulas over named values (trends metrics): parsed with :mod:`ast`, never ``eval``."""

from __future__ import annotations

import ast
import math

__all__ = ["formula_names", "evaluate"]


def formula_names(formula: str) -> list[str]:
    """The metric names a formula uses; ValueError for anything but + - * / numbers and names."""
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as e:
        raise ValueError(f"formula {formula!r} is not an arithmetic expression: {e.msg}") from None
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif not isinstance(
            node,
            (
                ast.Expression,
                ast.BinOp,
                ast.UnaryOp,
                ast.Constant,
                ast.Load,
                ast.Add,
                ast.Sub,
                ast.Mult,
                ast.Div,
                ast.USub,
                ast.UAdd,
            ),
        ) or (isinstance(node, ast.Constant) and not isinstance(node.value, (int, float))):
            raise ValueError(f"formula {formula!r}: only + - * /, numbers and metric names are allowed")
    return list(dict.fromkeys(names))


def _node(node, env: dict):
    if isinstance(node, ast.Expression):
        return _node(node.body, env)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        v = _node(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    a, b = _node(node.left, env), _node(node.right, env)
    if isinstance(node.op, ast.Add):
        return a + b
    if isinstance(node.op, ast.Sub):
        return a - b
    if isinstance(node.op, ast.Mult):
        return a * b
    if hasattr(b, "where"):  # a pandas Series: 0 divisors give NaN
        return a / b.where(b != 0)
    return a / b if b else math.nan


def evaluate(formula: str, env: dict):
    """The value of ``formula`` with names from ``env`` (numbers or pandas Series; a zero divisor gives NaN)."""
    formula_names(formula)
    return _node(ast.parse(formula, mode="eval"), env)
