"""What a SQL statement from a trace asks of the database, read without running it.

Statements in traces are untrusted text. Everything here only reads them: a
small lexer finds placeholders, comments, quoted text and top-level semicolons
with the target dialect's quoting rules, and sqlglot parses what is left.

- :func:`is_select` answers whether a statement is a plain ``SELECT`` (or
  ``WITH ... SELECT``) that is safe to ``EXPLAIN``; :func:`rejection_reason`
  says why not.
- :func:`filter_columns` and :func:`predicate_columns` list the columns a
  statement filters or joins on, by real table name.
- :func:`refill_placeholders` turns a statement with placeholders into one a
  database can plan, using neutral literals.

``dialect`` is a SQLAlchemy or sqlglot name: ``"sqlite"``, ``"postgresql"``
(or ``"postgres"``), ``"mysql"`` or ``"mariadb"``; ``None`` means "unknown".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, traverse_scope

logger = logging.getLogger(__name__)

PredicateKind = Literal["equality", "range"]
PredicateSource = Literal["filter", "join"]

_SQLGLOT_DIALECTS = {
    "sqlite": "sqlite",
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
}

#: Nodes that change data, schema, session or locks; any of them anywhere in
#: the tree (a data-modifying CTE included) makes a statement unsafe.
_FORBIDDEN_NODES: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, name)
    for name in (
        "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter",
        "TruncateTable", "Command", "Into", "Lock", "Set", "Transaction",
        "Commit", "Rollback", "Copy", "LoadData", "Pragma", "Use", "Grant",
        "Revoke", "Analyze", "Cache", "Uncache", "Refresh", "Kill", "Execute",
        "Declare", "Attach", "Detach", "Export", "Install", "Put", "Get",
        "PropertyEQ",
    )
    if hasattr(exp, name)
)  # fmt: skip

#: Functions with effects outside the query (sleeping, sequences, locks,
#: files, other connections, running SQL from a string), by name or prefix.
_FORBIDDEN_FUNCTIONS = frozenset(
    {
        "nextval", "setval", "lastval", "currval", "set_config", "sleep",
        "benchmark", "get_lock", "release_lock", "release_all_locks",
        "is_free_lock", "is_used_lock", "load_file", "master_pos_wait",
        "source_pos_wait", "load_extension", "readfile", "writefile", "edit",
        "fts3_tokenizer", "query_to_xml", "query_to_xml_and_xmlschema",
        "query_to_xmlschema", "cursor_to_xml", "cursor_to_xmlschema",
        "table_to_xml", "schema_to_xml", "database_to_xml", "txid_current",
        "pg_current_xact_id",
    }
)  # fmt: skip
_FORBIDDEN_PREFIXES = (
    "pg_sleep", "pg_terminate", "pg_cancel", "pg_reload", "pg_rotate",
    "pg_promote", "pg_switch", "pg_create", "pg_drop", "pg_replication",
    "pg_logical", "pg_advisory", "pg_try_advisory", "pg_read", "pg_ls_",
    "pg_stat_file", "pg_file", "pg_notify", "pg_import", "pg_export",
    "pg_backup", "pg_start_backup", "pg_stop_backup", "pg_wal", "dblink", "lo_",
    "sys_",
)  # fmt: skip

_UNPARSED = "it does not parse as"
_TOO_DEEP = "it is nested too deeply"
_ALL_DIALECTS = ("postgres", "mysql", "sqlite")

#: A numeric literal stands in for placeholder N while the statement is parsed.
_SENTINEL_BASE = 730_119_000_000


@dataclass(frozen=True)
class ColumnPredicate:
    """One column a statement compares in its WHERE or JOIN ON clauses.

    Attributes:
        table: The real table name (aliases resolved), as written.
        column: The column name, as written.
        kind: ``"equality"`` for ``=``, ``IN`` and ``IS NULL``; ``"range"`` for
            ``<``, ``<=``, ``>``, ``>=`` and ``BETWEEN``.
        source: ``"filter"`` when compared with a value, ``"join"`` when
            compared with another table's column.
    """

    table: str
    column: str
    kind: PredicateKind
    source: PredicateSource


# --- lexing ------------------------------------------------------------------


@dataclass(frozen=True)
class _Lexed:
    placeholders: list[tuple[int, int]]
    percent_escapes: list[int]
    pyformat: bool
    semicolons: list[int]
    problem: str | None
    first_word: str


_NAMED = re.compile(r":[A-Za-z_][A-Za-z0-9_]*")
_PYFORMAT = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)s")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_MYSQL_DASH_END = ("", " ", "\t", "\n", "\r")
_WORD_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$"
)


def _lex(statement: str, dialect: str) -> _Lexed:
    """Find placeholders and top-level semicolons with the dialect's quoting."""
    placeholders: list[tuple[int, int]] = []
    semicolons: list[int] = []
    first_word = ""
    i = 0
    while i < len(statement):
        if statement.startswith(("/*!", "/*M!"), i):
            return _Lexed([], [], False, [], "an executable comment", "")
        end = _skip_quoted(statement, i, dialect)
        if end == -1:
            return _Lexed([], [], False, [], "an unterminated quote or comment", "")
        if end > i:
            i = end
            continue

        end = _placeholder_end(statement, i, dialect == "postgres")
        if end > i:
            placeholders.append((i, end))
            i = end
            continue
        char = statement[i]
        if statement.startswith("%%", i):
            i += 2  # an escaped percent sign, not the start of a placeholder
            continue
        if char == ";":
            semicolons.append(i)
        elif char in _WORD_CHARS:
            # Skip a whole word, so nothing inside it is taken for a placeholder.
            word = re.match(r"[A-Za-z0-9_$]+", statement[i:])
            assert word is not None
            first_word = first_word or word.group(0).upper()
            i += len(word.group(0))
            continue
        i += 1
    if dialect == "postgres" and any(statement[a] != "?" for a, _ in placeholders):
        # With %s or $1 placeholders, a ? is jsonb's key-exists operator.
        placeholders = [(a, b) for a, b in placeholders if statement[a] != "?"]
    # The driver formats the whole text, quotes included, so every %% counts.
    taken = {start for start, _ in placeholders}
    percents = [
        m.start() for m in re.finditer("%%", statement) if m.start() not in taken
    ]
    pyformat = any(statement[start] == "%" for start in taken)
    return _Lexed(placeholders, percents, pyformat, semicolons, None, first_word)


def _skip_quoted(statement: str, i: int, dialect: str) -> int:
    """The end of a comment or quoted text starting at ``i``.

    Returns ``i`` when none starts there and -1 when it never ends.
    """
    mysql, postgres, sqlite = (
        dialect == name for name in ("mysql", "postgres", "sqlite")
    )
    pair = statement[i : i + 2]
    before = statement[i - 1] if i else " "
    if (
        pair == "--" and (not mysql or statement[i + 2 : i + 3] in _MYSQL_DASH_END)
    ) or (pair[:1] == "#" and mysql):
        line_end = statement.find("\n", i)
        return len(statement) if line_end < 0 else line_end
    if pair == "/*":
        return _close_comment(statement, i, nested=postgres)
    if pair[:1] == "'":
        e_string = (
            postgres and before in "eE" and statement[i - 2 : i - 1] not in _WORD_CHARS
        )
        return _close_quote(statement, i, "'", backslash=mysql or e_string)
    if pair[:1] == '"':
        return _close_quote(statement, i, '"', backslash=mysql)
    if pair[:1] == "`" and (mysql or sqlite):
        return _close_quote(statement, i, "`", backslash=False)
    if pair[:1] == "[" and sqlite:
        close_at = statement.find("]", i)
        return -1 if close_at < 0 else close_at + 1
    tag = (
        _DOLLAR_TAG.match(statement, i)
        if postgres and before not in _WORD_CHARS
        else None
    )
    if tag:
        close_at = statement.find(tag.group(0), tag.end())
        return -1 if close_at < 0 else close_at + len(tag.group(0))
    return i


def _close_quote(statement: str, i: int, quote: str, *, backslash: bool) -> int:
    j = i + 1
    while j < len(statement):
        char = statement[j]
        if backslash and char == "\\":
            j += 2
        elif char != quote:
            j += 1
        elif statement[j + 1 : j + 2] == quote:
            j += 2
        else:
            return j + 1
    return -1


def _close_comment(statement: str, start: int, *, nested: bool) -> int:
    depth, j = 0, start
    while j < len(statement) - 1:
        pair = statement[j : j + 2]
        if pair == "/*" and (nested or depth == 0):
            depth, j = depth + 1, j + 2
        elif pair == "*/":
            depth, j = depth - 1, j + 2
            if depth == 0:
                return j
        else:
            j += 1
    return -1


def _placeholder_end(statement: str, i: int, postgres: bool) -> int:
    """The end of a placeholder starting at ``i``, or ``i`` when there is none."""
    char, nxt = statement[i], statement[i + 1 : i + 2]
    before = statement[i - 1] if i else " "
    if char == "?":
        if postgres and nxt in ("|", "&"):
            return i  # jsonb's ?| and ?& operators
        digits = re.match(r"\?\d*", statement[i:])
        return i + len(digits.group(0)) if digits else i + 1
    if char == "%":
        if nxt == "s" and statement[i + 2 : i + 3] not in _WORD_CHARS:
            return i + 2
        match = _PYFORMAT.match(statement, i)
        return match.end() if match else i
    if char == ":" and before != ":" and before not in _WORD_CHARS and nxt != ":":
        match = _NAMED.match(statement, i)
        return match.end() if match else i
    if char == "$" and before not in _WORD_CHARS:
        match = re.match(r"\$\d+", statement[i:])
        return i + len(match.group(0)) if match else i
    return i


def _substitute(statement: str, lexed: _Lexed, values: list[str]) -> str:
    """The statement with placeholder k replaced by ``values[k]``."""
    edits = [
        (start, end, value)
        for (start, end), value in zip(lexed.placeholders, values, strict=True)
    ]
    if lexed.pyformat:
        # The driver would have turned %% into % before sending.
        edits += [(at, at + 2, "%") for at in lexed.percent_escapes]
    parts, last = [], 0
    for start, end, value in sorted(edits):
        parts += [statement[last:start], value]
        last = end
    parts.append(statement[last:])
    return "".join(parts)


# --- parsing -----------------------------------------------------------------


def _sqlglot_dialect(dialect: str | None) -> str | None:
    if dialect is None:
        return None
    try:
        return _SQLGLOT_DIALECTS[dialect.lower()]
    except KeyError:
        raise ValueError(
            f"unknown SQL dialect {dialect!r}; use one of {sorted(_SQLGLOT_DIALECTS)}"
        ) from None


@dataclass(frozen=True)
class _Parsed:
    tree: exp.Expr | None
    lexed: _Lexed
    problem: str | None


def _parse(statement: str, dialect: str | None) -> _Parsed:
    """Lex and parse one statement; with no dialect, the first that parses."""
    if dialect is not None:
        return _parse_as(statement, dialect)
    attempts = [_parse_as(statement, name) for name in _ALL_DIALECTS]
    return next((a for a in attempts if a.tree is not None), attempts[0])


def _parse_as(statement: str, dialect: str) -> _Parsed:
    lexed = _lex(statement, dialect)
    if lexed.problem:
        return _Parsed(None, lexed, lexed.problem)
    trailing = statement[lexed.semicolons[-1] + 1 :].strip() if lexed.semicolons else ""
    if len(lexed.semicolons) > 1 or (lexed.semicolons and trailing):
        return _Parsed(None, lexed, "more than one statement")
    if lexed.first_word not in ("SELECT", "WITH"):
        first = lexed.first_word[:30] or "nothing"
        return _Parsed(None, lexed, f"it starts with {first}")
    sentinels = [str(_SENTINEL_BASE + k) for k in range(len(lexed.placeholders))]
    try:
        trees = _parse_probe(_substitute(statement, lexed, sentinels), dialect)
    except SqlglotError:
        # Where only a string may stand (MATCH ... AGAINST), try quoted ones.
        quoted = [f"'{sentinel}'" for sentinel in sentinels]
        try:
            trees = _parse_probe(_substitute(statement, lexed, quoted), dialect)
        except SqlglotError as error:
            reason = str(error).splitlines()[0][:120]
            return _Parsed(None, lexed, f"{_UNPARSED} {dialect} SQL: {reason}")
        except RecursionError:
            return _Parsed(None, lexed, f"{_UNPARSED} {dialect} SQL: {_TOO_DEEP}")
    except RecursionError:
        # sqlglot parses recursively: a few thousand nested parentheses in a
        # trace's statement exhaust Python's stack.
        return _Parsed(None, lexed, f"{_UNPARSED} {dialect} SQL: {_TOO_DEEP}")
    if len(trees) != 1:
        return _Parsed(None, lexed, "more than one statement")
    return _Parsed(trees[0], lexed, None)


def _parse_probe(probe: str, dialect: str) -> list[exp.Expr]:
    return [tree for tree in sqlglot.parse(probe, read=dialect) if tree is not None]


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def _unsafe_part(tree: exp.Expr) -> str | None:
    root = tree.this if isinstance(tree, exp.Subquery) else tree
    if not isinstance(root, exp.Select | exp.SetOperation):
        return f"it is a {type(root).__name__.upper()} statement, not a SELECT"
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            label = "SELECT ... INTO" if isinstance(node, exp.Into) else None
            label = label or (
                "a locking clause" if isinstance(node, exp.Lock) else None
            )
            return f"it contains {label or type(node).__name__.upper()}"
        if isinstance(node, exp.Func):
            name = _function_name(node)
            if name in _FORBIDDEN_FUNCTIONS or name.startswith(_FORBIDDEN_PREFIXES):
                shown = re.sub(r"\W", "?", name)[:40]  # the name is untrusted text
                return f"it calls {shown}(), which has side effects"
    return None


def rejection_reason(statement: str, dialect: str | None = None) -> str | None:
    """Why a statement is not safe to EXPLAIN, or ``None`` when it is.

    Args:
        statement: SQL text, possibly with placeholders.
        dialect: The database's dialect. With ``None`` the statement must
            parse under PostgreSQL, MySQL or SQLite rules and be safe under
            every one of them that parses it; anything that will actually be
            sent to a database should name its dialect.

    Returns:
        A short reason such as ``"more than one statement"``, or ``None``.
    """
    if dialect is not None:
        parsed = _parse_as(statement, _sqlglot_dialect(dialect) or "")
        return parsed.problem if parsed.tree is None else _unsafe_part(parsed.tree)

    # Unknown dialect: what any dialect's rules find dangerous is refused.
    reasons = [rejection_reason(statement, name) for name in _ALL_DIALECTS]
    dangers = [r for r in reasons if r is not None and not r.startswith(_UNPARSED)]
    if dangers:
        return dangers[0]
    return None if None in reasons else reasons[0]


def is_select(statement: str, dialect: str | None = None) -> bool:
    """Whether a statement is a plain, read-only SELECT that may be EXPLAINed.

    Only one ``SELECT`` or ``WITH ... SELECT`` statement (set operations
    included) passes. Refused: several statements, anything that changes data,
    schema or session (data-modifying CTEs included), ``SELECT ... INTO``,
    locking clauses (``FOR UPDATE``/``FOR SHARE``/``LOCK IN SHARE MODE``),
    MySQL executable comments (``/*! ... */``), assignments (``:=``) and calls
    of functions with side effects (``pg_sleep``, ``sleep``, ``benchmark``,
    ``nextval``, ``setval``, ``dblink*``, ``lo_*``, ``pg_terminate_*``,
    advisory locks, file readers and the like). A statement that does not
    parse is refused too.

    Args:
        statement: SQL text, possibly with placeholders.
        dialect: See :func:`rejection_reason`.
    """
    return rejection_reason(statement, dialect) is None


# --- columns -----------------------------------------------------------------


def _conjuncts(condition: exp.Expr) -> Iterator[exp.Expr]:
    """The AND-ed parts of a condition; an OR's branches are not followed."""
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        yield from _conjuncts(condition.this)
        yield from _conjuncts(condition.expression)
    else:
        yield condition


def _bare_column(node: exp.Expr) -> exp.Column | None:
    while isinstance(node, exp.Paren):
        node = node.this
    return node if isinstance(node, exp.Column) and node.name else None


def _resolve(column: exp.Column, scope: Scope) -> str | None:
    """The real table a column belongs to, searching enclosing scopes."""
    qualifier = column.table
    current: Scope | None = scope
    while current is not None:
        tables = {
            alias: source.name
            for alias, source in current.sources.items()
            if isinstance(source, exp.Table)
        }
        if qualifier and qualifier in tables:
            return tables[qualifier]
        if qualifier and qualifier in current.sources:
            return None  # a derived table or CTE, not a real one
        if not qualifier:
            return next(iter(tables.values())) if len(tables) == 1 else None
        current = current.parent
    return None


def _scope_predicates(scope: Scope) -> Iterator[ColumnPredicate]:
    select = scope.expression
    if not isinstance(select, exp.Select):
        return
    conditions = [select.args["where"].this] if select.args.get("where") else []
    conditions += [
        j.args["on"] for j in select.args.get("joins") or [] if j.args.get("on")
    ]
    for condition in conditions:
        for part in _conjuncts(condition):
            yield from _part_predicates(part, scope)


def _part_predicates(part: exp.Expr, scope: Scope) -> Iterator[ColumnPredicate]:
    sides: list[exp.Expr]
    if isinstance(part, exp.EQ | exp.NullSafeEQ):
        kind: PredicateKind = "equality"
        sides = [part.this, part.expression]
    elif isinstance(part, exp.GT | exp.GTE | exp.LT | exp.LTE):
        kind, sides = "range", [part.this, part.expression]
    elif isinstance(part, exp.In | exp.Is):
        kind, sides = "equality", [part.this]
    elif isinstance(part, exp.Between):
        kind, sides = "range", [part.this]
    else:
        return
    columns = [c for c in map(_bare_column, sides) if c is not None]
    other_has_columns = len(sides) == 2 and all(
        any(True for _ in side.find_all(exp.Column)) for side in sides
    )
    source: PredicateSource = "join" if other_has_columns else "filter"
    for column in columns:
        table = _resolve(column, scope)
        if table:
            yield ColumnPredicate(table, column.name, kind, source)


def predicate_columns(
    statement: str, dialect: str | None = None
) -> list[ColumnPredicate]:
    """Every column compared in the WHERE and JOIN ON clauses, in order.

    Only AND-ed comparisons of a bare column count (``=``, ``IN``, ``IS NULL``,
    ``<``, ``<=``, ``>``, ``>=``, ``BETWEEN``); a column inside a function
    call, a ``LIKE`` or an ``OR`` branch cannot use a plain index and is left
    out. An unqualified column counts only where its scope has one table.
    Subqueries are read too, each with its own aliases.

    Returns:
        The predicates in statement order; ``[]`` when the statement does not
        parse.
    """
    parsed = _parse(statement, _sqlglot_dialect(dialect))
    if parsed.tree is None:
        return []
    try:
        scopes = traverse_scope(parsed.tree)
    except SqlglotError:
        return []
    found: list[ColumnPredicate] = []
    for scope in reversed(scopes):  # outermost query first
        found += [p for p in _scope_predicates(scope) if p not in found]
    return found


def filter_columns(statement: str, dialect: str | None = None) -> dict[str, list[str]]:
    """Table -> the columns a statement filters or joins on.

    Aliases are resolved to real table names (``FROM books AS books_1`` with
    ``books_1.author_id = ?`` gives ``{"books": ["author_id"]}``). Each list
    has equality columns first (compared with a value, then joined on), then
    range columns, which is also the order an index on them should have.

    Args:
        statement: SQL text, possibly with placeholders.
        dialect: The database's dialect, or ``None`` to try each.
    """
    return group_columns(predicate_columns(statement, dialect))


def group_columns(predicates: Iterable[ColumnPredicate]) -> dict[str, list[str]]:
    """Table -> columns, equality (with a value, then joins) first, then range."""
    rank = {("equality", "filter"): 0, ("equality", "join"): 1, ("range", "filter"): 2}
    ordered = sorted(predicates, key=lambda p: rank.get((p.kind, p.source), 3))
    tables: dict[str, list[str]] = {}
    for predicate in ordered:
        columns = tables.setdefault(predicate.table, [])
        if predicate.column not in columns:
            columns.append(predicate.column)
    return tables


def table_aliases(statement: str, dialect: str | None = None) -> dict[str, str]:
    """Alias (and plain name) -> real table name for every table read.

    Query plans of SQLite and MySQL name tables by alias; this maps them back.
    Where one alias names different tables in different subqueries, the
    outermost wins.
    """
    parsed = _parse(statement, _sqlglot_dialect(dialect))
    aliases: dict[str, str] = {}
    if parsed.tree is None:
        return aliases
    for table in parsed.tree.find_all(exp.Table):
        if table.name:
            aliases.setdefault(table.alias_or_name, table.name)
            aliases.setdefault(table.name, table.name)
    return aliases


# --- placeholders ------------------------------------------------------------

_TYPE_LITERALS: tuple[tuple[str, str], ...] = (
    (r"\[\]$|^_", "'{}'"),  # PostgreSQL arrays
    (r"^interval", "'0'"),
    (r"^(bool|boolean)\b", "BOOL"),
    (r"^(timestamp|datetime|smalldatetime)", "'2000-01-01 00:00:00'"),
    (r"^date\b", "'2000-01-01'"),
    (r"^time\b", "'00:00:00'"),
    (r"^year\b", "2000"),
    (r"^uuid\b", "'00000000-0000-0000-0000-000000000000'"),
    (r"^jsonb?\b", "'{}'"),
    (r"^(tiny|small|medium|big)?int(eger)?\d*\b|^(small|big)?serial\d*\b", "0"),
    (r"^(numeric|decimal|dec|real|double|float\d*|money|number)\b", "0"),
    (r"^(n?varchar|n?char|character|text|tinytext|mediumtext|longtext|clob|"
     r"string|citext|name|enum|set)\b", "''"),
    (r"^(bytea|blob|tinyblob|mediumblob|longblob|binary|varbinary)\b", "''"),
    (r"^(inet|cidr)\b", "'0.0.0.0'"),
)  # fmt: skip

#: The literal for a placeholder whose column type is not known. In
#: PostgreSQL a quoted literal has no type until the comparison gives it one,
#: so '0' is a valid integer, numeric, text, boolean or interval; MySQL and
#: SQLite convert it to the column's type, so an index stays usable.
_DEFAULT_LITERAL = "'0'"


def neutral_literal(type_name: str, dialect: str) -> str:
    """A harmless literal of a SQL type, for refilling a placeholder.

    Numbers get ``0``, text ``''``, dates ``'2000-01-01'``, timestamps
    ``'2000-01-01 00:00:00'``, booleans ``false`` (``0`` outside PostgreSQL),
    UUIDs the nil UUID, JSON and arrays ``'{}'``. A type not recognised gets
    ``'0'``, which every supported database can read as a number or a string.

    Args:
        type_name: The column type as the database names it (``"VARCHAR(200)"``,
            ``"timestamp without time zone"``, ``"int(11) unsigned"``).
        dialect: The target dialect.
    """
    name = type_name.strip().lower()
    for pattern, literal in _TYPE_LITERALS:
        if re.search(pattern, name):
            if literal == "BOOL":
                return "false" if _sqlglot_dialect(dialect) == "postgres" else "0"
            return literal
    return _DEFAULT_LITERAL


def _column_literal(
    column: exp.Column,
    aliases: Mapping[str, str],
    column_literals: Mapping[str, Mapping[str, str]],
) -> str | None:
    if column.table:
        table = aliases.get(column.table)
        return column_literals.get(table, {}).get(column.name) if table else None
    candidates = {
        literals[column.name]
        for table, literals in column_literals.items()
        if table in aliases.values() and column.name in literals
    }
    return candidates.pop() if len(candidates) == 1 else None


def _placeholder_literal(
    node: exp.Expr,
    aliases: Mapping[str, str],
    column_literals: Mapping[str, Mapping[str, str]],
) -> str:
    """The literal that suits where a placeholder stands in the statement."""
    child, parent = node, node.parent
    while isinstance(parent, exp.Paren | exp.Neg):
        child, parent = parent, parent.parent
    if isinstance(parent, exp.Limit | exp.Fetch):
        return "10"
    if isinstance(parent, exp.Offset):
        return "0"
    if isinstance(parent, exp.Like | exp.ILike):
        return "'%'"
    if isinstance(parent, exp.Any | exp.All):
        return "'{0}'"  # an array of one element, for = ANY(...)
    if isinstance(parent, exp.In | exp.Between):
        other: exp.Expr | None = parent.this
    elif isinstance(parent, exp.Binary) and not isinstance(parent, exp.Connector):
        other = parent.expression if parent.this is child else parent.this
    else:
        other = None
    column = _bare_column(other) if other is not None else None
    if column is not None:
        return _column_literal(column, aliases, column_literals) or _DEFAULT_LITERAL
    return _DEFAULT_LITERAL


def refill_placeholders(
    statement: str,
    dialect: str,
    *,
    column_literals: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """Replace placeholders with neutral literals, so a database can plan it.

    Recognised placeholders: ``?`` (and ``?1``), ``%s``, ``%(name)s``,
    ``:name`` and ``$1``, outside quotes and comments; with ``%s``-style
    placeholders, ``%%`` becomes ``%`` as the driver would send it. ``NULL``
    is never used, since ``col = NULL`` can be planned as "no rows". Each
    placeholder gets a literal chosen from where it stands:

    - ``LIMIT``/``FETCH`` get ``10``, ``OFFSET`` gets ``0``, ``LIKE`` gets
      ``'%'``, PostgreSQL's ``= ANY(?)`` gets the one-element array ``'{0}'``;
    - compared with a column whose literal is in ``column_literals`` (see
      :func:`neutral_literal`), that literal;
    - anything else ``'0'``, which PostgreSQL types from the comparison and
      MySQL and SQLite convert, so the plan can still use an index.

    The rest of the statement is left exactly as it was.

    Args:
        statement: SQL text from a trace.
        dialect: The target dialect (its quoting rules decide what is quoted).
        column_literals: Real table name -> column name -> literal to use for
            that column, e.g. built with :func:`neutral_literal` from the
            database's column types.

    Returns:
        The statement with every placeholder replaced.
    """
    sg_dialect = _sqlglot_dialect(dialect) or "postgres"
    lexed = _lex(statement, sg_dialect)
    if lexed.problem or not lexed.placeholders:
        return _substitute(statement, lexed, []) if not lexed.problem else statement
    values = [_DEFAULT_LITERAL] * len(lexed.placeholders)
    parsed = _parse_as(statement, sg_dialect)
    if parsed.tree is None:
        logger.debug("placeholders refilled without context: %s", parsed.problem)
        return _substitute(statement, lexed, _fallback_literals(statement, lexed))
    aliases = table_aliases(statement, dialect)
    sentinel_index = {str(_SENTINEL_BASE + k): k for k in range(len(values))}
    for literal in parsed.tree.find_all(exp.Literal):
        k = sentinel_index.get(str(literal.this))
        if k is not None:
            values[k] = _placeholder_literal(literal, aliases, column_literals or {})
    return _substitute(statement, lexed, values)


def _fallback_literals(statement: str, lexed: _Lexed) -> list[str]:
    """Literals chosen from the preceding keyword alone, for unparsed SQL."""
    values = []
    for start, _ in lexed.placeholders:
        before = statement[:start].rstrip().upper()
        if before.endswith(("LIMIT", "FETCH FIRST", "FETCH NEXT")):
            values.append("10")
        elif before.endswith("OFFSET"):
            values.append("0")
        elif before.endswith("LIKE"):
            values.append("'%'")
        else:
            values.append(_DEFAULT_LITERAL)
    return values
