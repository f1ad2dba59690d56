"""A params file is code: its ``derive:`` expressions run inside the ingest engine. This module keeps them to
what they are for, and the engine to the files it must touch.

- :func:`derive_problem` parses one ``derive`` value with sqlglot (dialect duckdb) and accepts only ONE scalar
  expression over the source columns: no statement, subquery, table or table function (``read_text``,
  ``read_csv``, ``query`` ...), no window or aggregate, no ``;``, no comment, and only functions on the
  allow-list :data:`ALLOWED_FUNCTIONS`. ``validate`` reports each rejected value with its key path.
- :func:`lock_down` turns DuckDB's external access off once the sources are bound, allowing only the source
  files and the campaign folder, then locks the configuration, so that even an expression that got past the
  parser could read or write nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

__all__ = ["ALLOWED_FUNCTIONS", "derive_problem", "expression_columns", "lock_down", "sql_in", "sql_name", "sql_text"]


# ---------------------------------------------------------------------------------------- quoting
# the one definition of SQL quoting (DuckDB) for every module that writes SQL by hand


def sql_name(name) -> str:
    """``name`` as a quoted SQL identifier (DuckDB), double quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


def sql_text(value) -> str:
    """``value`` as a SQL string literal (DuckDB), quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_in(col: str, values) -> str:
    """``col IN ('a', 'b', ...)`` (``col`` already SQL; ``values`` as string literals)."""
    return f"{col} IN ({', '.join(sql_text(v) for v in values)})"


#: scalar functions a ``derive`` expression may call (lower case; sqlglot's name for a function it knows,
#: e.g. ``str_to_time`` for ``strptime``, and DuckDB's name otherwise). Casts, CASE, arithmetic, comparison,
#: ``||``, ``->>`` and literals need no entry.
ALLOWED_FUNCTIONS = frozenset(
    """
    cast try_cast trycast if case coalesce nullif ifnull nvl greatest least
    lower upper trim ltrim rtrim length char_length substring substr left right reverse replace translate
    concat concat_ws dpipe strpos instr position contains starts_with startswith ends_with endswith split_part
    lpad rpad regexp_replace regexp_extract regexp_matches regexp_full_match regexp_like strip_accents
    nfc_normalize md5 upper lower array_to_string
    abs round floor ceil ceiling sign sqrt ln log log10 log2 exp pow power mod
    str_to_time strptime try_strptime time_to_str strftime timestamp_trunc date_trunc datetrunc date_part
    extract epoch epoch_ms to_timestamp make_timestamp make_date date_diff datediff timestamp_diff
    json_extract_scalar json_extract_string json_extract
    """.split()
)

# node types that are never part of one scalar expression
_FORBIDDEN = (
    "Query",
    "Subquery",
    "Table",
    "From",
    "Join",
    "Star",
    "Window",
    "AggFunc",
    "Lambda",
    "Placeholder",
    "Parameter",
    "Command",
    "Create",
    "Insert",
    "Copy",
    "Pragma",
    "Set",
    "Drop",
    "Use",
)


def _parse(expr: str):
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    if not isinstance(expr, str) or not expr.strip():
        return None, "is empty; give one SQL expression over the source columns"
    try:
        tokens = sqlglot.tokenize(expr, read="duckdb")
    except TokenError as e:
        return None, f"is not a valid SQL expression ({e})"
    if any(t.token_type.name == "SEMICOLON" for t in tokens):
        return None, "contains ';': give one expression, not statements"
    if any(t.comments for t in tokens):
        return None, "contains a comment ('--' or '/* */'); remove it"
    try:
        tree = sqlglot.parse_one(expr, read="duckdb")
    except ParseError as e:
        first = str(e).splitlines()[0]
        return None, f"is not one SQL expression ({first})"
    return tree, None


def derive_problem(expr: str) -> str | None:
    """Why ``expr`` is not an acceptable ``derive`` expression (a message to put after its key path), or None.

    ``derive_problem('TRY_CAST("Price" AS DOUBLE) * 2')`` is None; ``derive_problem("read_text('/etc/passwd')")``
    says that ``read_text()`` is not an allowed scalar function.
    """
    from sqlglot import exp

    tree, problem = _parse(expr)
    if problem:
        return problem
    forbidden = tuple(getattr(exp, n) for n in _FORBIDDEN if hasattr(exp, n))
    for node in tree.walk():
        if isinstance(node, forbidden):
            what = type(node).__name__.lower()
            if isinstance(node, (exp.Query, exp.Subquery)):
                what = "a subquery or statement"
            elif isinstance(node, exp.AggFunc):
                what = f"an aggregate ({what})"
            return f"contains {what}; give one scalar expression over the source columns (no SELECT, FROM, *)"
        if isinstance(node, exp.Column) and node.table:
            return f"names {node.sql(dialect='duckdb')}: only source columns, without a table or schema, are allowed"
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name not in ALLOWED_FUNCTIONS:
                return (
                    f"calls {name}(), which is not an allowed scalar function (table functions, file access, "
                    f"settings and aggregates are not); allowed: see helpers.sqlsafety.ALLOWED_FUNCTIONS"
                )
    return None


def expression_columns(expr: str) -> list[str]:
    """The column names an (accepted) ``derive`` expression reads, in order of first use."""
    from sqlglot import exp

    tree, problem = _parse(expr)
    if problem or tree is None:
        return []
    return list(dict.fromkeys(c.name for c in tree.find_all(exp.Column)))


def lock_down(con, *, directories: Iterable[str | os.PathLike], files: Iterable[str | os.PathLike]) -> None:
    """Turn DuckDB's external access off on ``con``, except for ``directories`` (and everything below them)
    and the single ``files``; then lock the configuration so that no later statement can undo it.

    Call it once the connection's settings are made (memory, threads, spill folder inside an allowed
    directory). Afterwards any other path, e.g. ``read_text('/etc/passwd')`` or ``COPY ... TO '/tmp/x'``,
    fails with DuckDB's PermissionException.
    """
    dirs = sorted({os.path.join(os.path.abspath(d), "") for d in directories})
    paths = sorted({os.path.abspath(f) for f in files})

    def lit(values: list[str]) -> str:
        return "[" + ", ".join(sql_text(v) for v in values) + "]"

    if dirs:
        con.execute(f"SET allowed_directories = {lit(dirs)}")
    if paths:
        con.execute(f"SET allowed_paths = {lit(paths)}")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
