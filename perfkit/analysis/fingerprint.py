"""Fingerprints: SQL statements and URLs reduced to the shape that repeats.

Two statements that differ only in their values get the same fingerprint, and
so do two URLs that differ only in the ids in their path.

SQL is normalised in two stages. A tokenizing scan (:func:`scan_sql`) removes
comments (sqlcommenter's included), turns literals and every placeholder style
(``?``, ``%s``, ``%(name)s``, ``:name``, ``$1``) into ``?`` and collapses
``IN (?, ?, ...)`` lists. That is cheap and gives a key under which many raw
statements fall together. Each distinct key is then parsed once with sqlglot
(:func:`statement_info`, cached), which strips what the scan missed, collapses
IN lists of tuples and multi-row VALUES, and writes the statement back in one
canonical form. The fingerprint is a hash of that form.

URLs become templates: userinfo, query string and fragment are dropped (so no
credential, token or signature in them reaches a finding's evidence) and
path segments that are ids become ``{id}`` (integers, and keys holding a run of
three digits or more such as ``SKU-000042``), ``{uuid}``, ``{hash}`` (12 hex
digits or more) or ``{token}`` (20 or more letters, digits, ``-`` and ``_``
with at least one digit).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, overload
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from perfkit.analysis.grouped import group_codes

logger = logging.getLogger(__name__)

# sqlglot warns about statements it parses only in part, quoting them whole:
# a statement from a trace, values and all, must reach no terminal or log.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

#: db.system values (old and new names) -> sqlglot dialect.
DIALECTS = {
    "postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    "mssql": "tsql",
    "microsoft.sql_server": "tsql",
    "oracle": "oracle",
    "oracle.db": "oracle",
    "duckdb": "duckdb",
    "clickhouse": "clickhouse",
    "trino": "trino",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
}


#: The dialect given to statements of databases that do not speak SQL: their
#: text is never parsed as SQL, and everything after the command is a value.
NON_SQL = "nosql"

#: db.system values of databases whose statements are not SQL.
NON_SQL_SYSTEMS = frozenset(
    {
        "redis",
        "memcached",
        "mongodb",
        "elasticsearch",
        "opensearch",
        "couchbase",
        "couchdb",
        "dynamodb",
        "aws.dynamodb",
        "cosmosdb",
        "azure.cosmosdb",
        "hbase",
        "geode",
        "aerospike",
        "etcd",
        "zookeeper",
    }
)


def sqlglot_dialect(db_system: str | None) -> str | None:
    """The sqlglot dialect for an OpenTelemetry ``db.system`` value, if known.

    A database that does not speak SQL (Redis, MongoDB...) gets
    :data:`NON_SQL`, which is no sqlglot dialect: its statements are
    normalised without parsing.
    """
    system = (db_system or "").lower()
    return NON_SQL if system in NON_SQL_SYSTEMS else DIALECTS.get(system)


# -- SQL: the tokenizing scan ----------------------------------------------------


def _sql_token(*, backslash: bool, double_quoted_strings: bool) -> re.Pattern[str]:
    """The scan's token pattern under one set of quoting rules.

    Standard SQL doubles a quote inside a string; MySQL (and PostgreSQL's
    ``E'...'``) also escape it with a backslash. MySQL reads ``"..."`` as a
    string too. PostgreSQL's dollar-quoted strings (``$$...$$``,
    ``$tag$...$tag$``) are strings under either rule.
    """
    body = r"(?:[^'\\]|\\.|'')*" if backslash else r"(?:[^']|'')*"
    strings = [
        rf"(?:[NEXBnexb]|[Uu]&)?'{body}'",
        r"\$(?P<tag>[A-Za-z_]\w*|)\$.*?\$(?P=tag)\$",
    ]
    identifiers = [r"`[^`]*`"]
    double = r'"(?:[^"\\]|\\.|"")*"' if backslash else r'"(?:[^"]|"")*"'
    (strings if double_quoted_strings else identifiers).append(double)
    return re.compile(
        rf"""
          (?P<string>{"|".join(strings)})
        | (?P<ident>{"|".join(identifiers)})
        | (?P<comment>/\*.*?\*/|--[^\n]*)
        | (?P<placeholder>\?|%s|%\([^)]*\)s|(?<!:):[A-Za-z_]\w*|:\d+|\$\d+|@p\d+)
        | (?P<word>[A-Za-z_][\w$]*)
        | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
        | (?P<space>\s+)
        """,
        re.VERBOSE | re.DOTALL,
    )


#: Token patterns by (backslash escapes, double-quoted strings).
_SQL_TOKENS = {
    (backslash, double): _sql_token(backslash=backslash, double_quoted_strings=double)
    for backslash in (False, True)
    for double in (False, True)
}
_SQL_TOKEN = _SQL_TOKENS[False, False]
_OPEN_QUOTE = re.compile("['\"]")
_IN_LIST = re.compile(r"\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.IGNORECASE)
_VALUES_ROWS = re.compile(
    r"\bVALUES\s*(\([?,\s]*\))(?:\s*,\s*\([?,\s]*\))+", re.IGNORECASE
)
_BOOLEANS = frozenset({"true", "false"})


@dataclass(frozen=True)
class SqlScan:
    """What the cheap scan of one raw statement finds.

    Attributes:
        key: The statement without comments, with literals and placeholders
            as ``?`` and simple IN lists collapsed: the input of
            :func:`statement_info`.
        params: The statement without comments but with its literals kept:
            equal for two executions only when their inline values are equal.
        has_literals: Whether the statement carried inline values at all.
        has_placeholders: Whether it has placeholders too, whose values its
            text does not show.
    """

    key: str
    params: str
    has_literals: bool
    has_placeholders: bool = False

    @property
    def values_known(self) -> bool:
        """Whether ``params`` holds every value of the execution."""
        return self.has_literals and not self.has_placeholders


def scan_sql(statement: str, dialect: str | None = None) -> SqlScan:
    """Strip comments, literals and placeholders from a statement, cheaply.

    Quoting follows ``dialect`` (a sqlglot name): MySQL escapes quotes with
    a backslash and quotes strings with ``"`` too. Where those rules leave a
    quote open, the other rule is tried; where both do, everything from the
    open quote on is dropped, so a value never reaches the key.
    """
    mysql = dialect == "mysql"
    preferred = _SQL_TOKENS[mysql, mysql]
    return (
        _scan(statement, preferred)
        or _scan(statement, _SQL_TOKENS[not mysql, mysql])
        or _scan(statement, preferred, cut=True)
    )


@overload
def _scan(statement: str, token: re.Pattern[str]) -> SqlScan | None: ...
@overload
def _scan(statement: str, token: re.Pattern[str], *, cut: Literal[True]) -> SqlScan: ...
def _scan(
    statement: str, token: re.Pattern[str], *, cut: bool = False
) -> SqlScan | None:
    """One scan under one set of quoting rules.

    Returns None when a quote is left open; with ``cut``, the scan of the
    text before the open quote, followed by one ``?`` for the rest.
    """
    key: list[str] = []
    params: list[str] = []
    literals = placeholders = 0
    position = 0
    for match in [*token.finditer(statement), None]:
        # Operators and punctuation lie between the tokens; keep them.
        end = len(statement) if match is None else match.start()
        gap = statement[position:end]
        open_quote = _OPEN_QUOTE.search(gap)
        if open_quote:
            if not cut:
                return None
            # The rest, from the open quote on, is one value.
            key += [gap[: open_quote.start()], "?"]
            params.append(statement[position:])
            literals += 1
            break
        key.append(gap)
        params.append(gap)
        if match is None:
            break
        position = match.end()
        kind, text = match.lastgroup, match.group()
        if kind in ("comment", "space"):
            key.append(" ")
            params.append(" ")
        elif kind == "placeholder":
            placeholders += 1
            key.append("?")
            params.append("?")
        elif kind in ("string", "number") or (
            kind == "word" and text.lower() in _BOOLEANS
        ):
            literals += 1
            key.append("?")
            params.append(text)
        else:
            key.append(text)
            params.append(text)
    return SqlScan(
        key=_collapse("".join(key)),
        params=" ".join("".join(params).split()),
        has_literals=literals > 0,
        has_placeholders=placeholders > 0,
    )


def _collapse(text: str) -> str:
    text = " ".join(text.split())
    text = _IN_LIST.sub("IN (?)", text)
    return _VALUES_ROWS.sub(r"VALUES \1", text)


# -- SQL: the parse ----------------------------------------------------------------


@dataclass(frozen=True)
class StatementInfo:
    """One normalised statement.

    Attributes:
        normalised: The canonical text, with no literal, placeholder value or
            comment in it: safe to show.
        fingerprint: A short hash of ``normalised``.
        operation: ``SELECT``, ``INSERT``, ``UPDATE``, ``DELETE`` or the first
            keyword of the statement.
        tables: The tables the statement names, in order of appearance.
        parsed: False when sqlglot could not parse the statement; the text is
            then the scan's key, and the fingerprint still groups repeats.
    """

    normalised: str
    fingerprint: str
    operation: str
    tables: tuple[str, ...]
    parsed: bool


#: Statement keys longer than this are not parsed (sqlglot takes seconds on a
#: megabyte) and are shown cut to this length.
MAX_PARSED_CHARS = 20_000

#: What a statement tree's root must be to count as SQL. Anything else (a
#: bare ``AUTH pw`` read as an alias, a JSON document read as a struct) is a
#: command of another language whose arguments are values.
_STATEMENTS: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, name)
    for name in (
        "Query", "DML", "DDL", "Command", "Drop", "Alter", "TruncateTable",
        "Transaction", "Commit", "Rollback", "Pragma", "Show", "Set", "Use",
        "Describe", "Copy", "Grant", "Revoke", "Analyze", "Merge", "Values",
        "Kill", "Execute", "Declare", "Cache", "Uncache", "Refresh", "LoadData",
        "Attach", "Detach", "Install", "Export", "Comment", "Summarize",
    )
    if hasattr(exp, name)
)  # fmt: skip

#: A JSON string, and the colon after it when it is an object's key.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"(\s*:)?')


@lru_cache(maxsize=16384)
def statement_info(key: str, dialect: str | None = None) -> StatementInfo:
    """Parse one scanned statement key with sqlglot and normalise it (cached).

    A statement of a database that does not speak SQL (``dialect`` is
    :data:`NON_SQL`), or one that is a JSON document, is not parsed: a JSON
    document keeps its keys, anything else its first word, and every value
    becomes ``?``.
    """
    stripped = key.lstrip()
    if dialect == NON_SQL or stripped.startswith(("{", "[")):
        return _non_sql_info(stripped)
    if len(key) > MAX_PARSED_CHARS:
        return _unparsed(key)
    try:
        tree = sqlglot.parse_one(key, dialect=dialect)
        if tree is not None and not isinstance(tree, _STATEMENTS):
            return _command_info(stripped)
        # Written back in sqlglot's own dialect, so that a placeholder reads
        # ``?`` whatever the database, and equal statements read the same.
        tree = tree.transform(_strip_values) if tree is not None else None
        normalised = tree.sql(comments=False) if tree is not None else ""
    except (SqlglotError, RecursionError, ValueError) as error:
        logger.debug("cannot parse statement %.80r: %s", key, error)
        tree = None
    if tree is None:
        return _unparsed(key)
    tables = tuple(dict.fromkeys(t.name for t in tree.find_all(exp.Table) if t.name))
    return StatementInfo(normalised, _hash(normalised), _operation(tree), tables, True)


def _unparsed(key: str) -> StatementInfo:
    """The scanned key itself: its literals are already ``?``."""
    words = key.split(None, 1)
    operation = words[0].upper() if words else ""
    shown = key if len(key) <= MAX_PARSED_CHARS else f"{key[:MAX_PARSED_CHARS]} …"
    return StatementInfo(shown, _hash(key), operation, (), parsed=False)


def _non_sql_info(key: str) -> StatementInfo:
    if key.startswith(("{", "[")):
        # The scan turned numbers and booleans into ?; strings are values
        # unless they are keys.
        values = _JSON_STRING.sub(lambda m: m.group(0) if m.group(1) else "?", key)
        normalised = " ".join(values.split())
        first = re.match(r'\s*\{\s*"((?:[^"\\]|\\.)*)"\s*:', normalised)
        operation = first.group(1).upper() if first else "JSON"
        if len(normalised) > MAX_PARSED_CHARS:
            normalised = f"{normalised[:MAX_PARSED_CHARS]} …"
        return StatementInfo(normalised, _hash(normalised), operation, (), False)
    return _command_info(key)


def _command_info(key: str) -> StatementInfo:
    """A command and ``?`` for its arguments: ``GET ?`` for ``GET user:42``."""
    words = key.split(None, 1)
    operation = words[0].upper()[:40] if words else ""
    normalised = f"{operation} ?" if len(words) > 1 else operation
    return StatementInfo(normalised, _hash(normalised), operation, (), False)


def normalise_sql(statement: str, dialect: str | None = None) -> str:
    """A statement's canonical text with values, placeholders and comments gone.

    Example:
        >>> normalise_sql("SELECT * FROM t WHERE id IN (1, 2, 3) /* app='x' */")
        'SELECT * FROM t WHERE id IN (?)'
    """
    return statement_info(scan_sql(statement, dialect).key, dialect).normalised


def sql_fingerprint(statement: str, dialect: str | None = None) -> str:
    """The fingerprint of a raw statement: equal for repeats with other values."""
    return statement_info(scan_sql(statement, dialect).key, dialect).fingerprint


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _is_value(node: exp.Expression) -> bool:
    if isinstance(node, exp.Neg):
        return _is_value(node.this)
    if isinstance(node, exp.Tuple):
        return all(_is_value(e) for e in node.expressions)
    return isinstance(node, _VALUES)


#: Literal values of every kind sqlglot reads: strings in each quoting
#: (``$$...$$``, ``N'...'``, ``X'...'``, ``U&'...'``...), numbers, booleans,
#: placeholders.
_VALUES: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, name)
    for name in (
        "Literal", "Boolean", "Placeholder", "Parameter", "RawString", "National",
        "HexString", "ByteString", "BitString", "UnicodeString",
    )
    if hasattr(exp, name)
)  # fmt: skip


def _strip_values(node: exp.Expression) -> exp.Expression:
    if (
        _is_value(node)
        and not isinstance(node, exp.Tuple)
        and node.find_ancestor(exp.DataType) is None
    ):
        return exp.Placeholder()
    values = node.expressions if isinstance(node, exp.In) else []
    if len(values) > 1 and all(_is_value(e) for e in values):
        node.set("expressions", [values[0]])
    if isinstance(node, exp.Values) and len(node.expressions) > 1:
        node.set("expressions", [node.expressions[0]])
    return node


def _operation(tree: exp.Expression) -> str:
    if isinstance(tree, (exp.Select, exp.Union, exp.Intersect, exp.Except)):
        return "SELECT"
    for kind, name in ((exp.Insert, "INSERT"), (exp.Update, "UPDATE")):
        if isinstance(tree, kind):
            return name
    if isinstance(tree, exp.Delete):
        return "DELETE"
    return tree.key.upper()


@dataclass(frozen=True)
class Batch:
    """The one statement that replaces a loop of ``... WHERE col = ?`` ones.

    Attributes:
        statement: The loop's statement with ``col IN (?, ?, ...)`` instead.
        column: The column the loop varies, as written (``books.author_id``).
    """

    statement: str
    column: str


def batch_rewrite(normalised: str) -> Batch | None:
    """Rewrite a statement run once per id into one run for all the ids.

    Returns None unless the statement's WHERE has exactly one ``column = ?``
    comparison and it has no LIMIT (batching would change what LIMIT means).
    """
    try:
        tree = sqlglot.parse_one(normalised)
    except (SqlglotError, RecursionError, ValueError):
        return None
    where = tree.args.get("where") if tree is not None else None
    if where is None or tree.args.get("limit") is not None:
        return None
    # SQLAlchemy's lazy loads write the value first: ``? = items.order_id``.
    pairs = [
        (eq, side)
        for eq in where.find_all(exp.EQ)
        for side, other in ((eq.this, eq.expression), (eq.expression, eq.this))
        if isinstance(side, exp.Column) and isinstance(other, exp.Placeholder)
    ]
    if len(pairs) != 1:
        return None
    eq, column = pairs[0]
    eq.replace(exp.In(this=column.copy(), expressions=[exp.Placeholder()]))
    text = tree.sql().replace("IN (?)", "IN (?, ?, ...)", 1)
    return Batch(statement=text, column=column.sql())


@dataclass(frozen=True)
class Fingerprints:
    """The fingerprints of a column of statements, and what each stands for.

    Attributes:
        fingerprint: Per row, the statement's fingerprint (categorical; NaN
            where there is no statement).
        params: Per row, a 64-bit hash of the statement's inline values when
            they are all of its values (``SqlScan.params``; no placeholder
            beside them), else NA: equal hashes, equal values.
        statements: One row per fingerprint, indexed by it: ``normalised``,
            ``operation`` and ``tables`` (comma-separated).
    """

    fingerprint: pd.Series
    params: pd.Series
    statements: pd.DataFrame


def fingerprint_statements(
    statements: pd.Series, dialects: pd.Series | None = None
) -> Fingerprints:
    """Fingerprint a column of raw statements, scanning each distinct one once.

    Args:
        statements: Raw statements (missing values allowed).
        dialects: sqlglot dialect per row, or None for sqlglot's default.
    """
    rows = len(statements)
    dialects = dialects if dialects is not None else pd.Series([None] * rows)
    codes, first = group_codes(statements, dialects)
    raw = statements.iloc[first].to_numpy(dtype=object)
    dialect = dialects.iloc[first].to_numpy(dtype=object)

    prints: list[str | None] = []
    hashes = np.zeros(len(first), dtype=np.int64)
    literal = np.zeros(len(first), dtype=bool)
    infos: dict[str, StatementInfo] = {}
    for i, (text, name) in enumerate(zip(raw, dialect, strict=True)):
        if pd.isna(text):
            prints.append(None)
            continue
        dialect_name = None if pd.isna(name) else str(name)
        scan = scan_sql(str(text), dialect_name)
        info = statement_info(scan.key, dialect_name)
        infos.setdefault(info.fingerprint, info)
        prints.append(info.fingerprint)
        # With placeholders beside the literals (Django's ``id = %s LIMIT
        # 21``), the text does not show every value.
        literal[i] = scan.values_known
        hashes[i] = int(_hash(scan.params), 16) >> 1  # fits an int64

    found, categories = pd.factorize(pd.Series(prints, dtype="object"))
    fingerprint = pd.Categorical.from_codes(
        found[codes], categories=pd.Index(categories, dtype="string")
    )
    params = pd.array(hashes[codes], dtype="Int64")
    params[~literal[codes]] = pd.NA
    table = pd.DataFrame(
        {
            "normalised": [i.normalised for i in infos.values()],
            "operation": [i.operation for i in infos.values()],
            "tables": [",".join(i.tables) for i in infos.values()],
        },
        index=pd.Index(list(infos), name="fingerprint", dtype="string"),
        dtype="string",
    )
    index = statements.index
    return Fingerprints(
        fingerprint=pd.Series(fingerprint, index=index, name="fingerprint"),
        params=pd.Series(params, index=index, name="params"),
        statements=table,
    )


# -- URLs --------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-fA-F]{12,}")
# A business key such as SKU-000042 or ord_12345: a run of three digits or
# more. Versions (v1, oauth2) have fewer and stay.
_CODE = re.compile(r"[^/{}]*\d{3,}[^/{}]*")
_TOKEN = re.compile(r"(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{20,}")


def _segment_template(segment: str) -> str:
    # The order matters, and template_urls' vectorised passes follow it.
    if segment.isdigit():
        return "{id}"
    if _UUID.fullmatch(segment):
        return "{uuid}"
    if _HEX.fullmatch(segment):
        return "{hash}"
    if _CODE.fullmatch(segment):
        return "{id}"
    if _TOKEN.fullmatch(segment):
        return "{token}"
    return segment


@lru_cache(maxsize=65536)
def url_template(url: str) -> str:
    """A URL without userinfo, query or fragment, with id-like segments named.

    Example:
        >>> url_template("https://u:p@api.example.com/users/42/orders?page=2")
        'https://api.example.com/users/{id}/orders'
    """
    parts = urlsplit(url)
    path = "/".join(_segment_template(s) for s in parts.path.split("/"))
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, path, "", ""))


_PATH_ENDPOINT = re.compile(r"([A-Z]+ )?([a-z][a-z0-9+.-]*://\S+|/\S*)")


def endpoint_template(name: str) -> str:
    """An endpoint named by a raw path, as a template; other names unchanged.

    Example:
        >>> endpoint_template("GET /users/42/orders?token=abc")
        'GET /users/{id}/orders'
    """
    match = _PATH_ENDPOINT.fullmatch(name)
    if match is None:
        return name
    method, target = match.groups()
    return f"{method or ''}{url_template(target)}"


#: Vectorised versions of the segment rules, applied to the path in order.
_PATH_PASSES = (
    (r"/[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}(/|$)", r"/{uuid}\1"),
    (r"/[0-9]+(/|$)", r"/{id}\1"),
    (r"/[0-9a-fA-F]{12,}(/|$)", r"/{hash}\1"),
    (r"/[^/{}]*[0-9]{3,}[^/{}]*(/|$)", r"/{id}\1"),
)


def template_urls(urls: pd.Series) -> pd.Series:
    """:func:`url_template` over a column, computing each distinct URL once.

    Returns a categorical column on the same index, NaN where a URL is missing.
    """
    # Vectorised passes first (RE2, through pyarrow) on the distinct URLs, so
    # URLs that differ only in ids or the query string fall together before
    # the per-URL work.
    # The query string is cut from each distinct URL, not from every row.
    raw_codes, raw = pd.factorize(urls.astype("string"))
    trimmed = pd.Series(raw, dtype="string").str.replace(r"[?#].*$", "", regex=True)
    trimmed_codes, distinct = pd.factorize(trimmed)
    codes = np.where(raw_codes >= 0, trimmed_codes[raw_codes] if len(raw) else -1, -1)
    found = pd.Series(distinct, dtype="string")
    authority = r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//[^/]*)?"
    prefix = found.str.replace(authority + ".*$", r"\1", regex=True)
    path = found.str.replace(authority, "", regex=True)
    for pattern, replacement in _PATH_PASSES:
        # Twice: a match consumes the slash that starts the next segment.
        for _ in range(2):
            path = path.str.replace(pattern, replacement, regex=True)
    passed, shapes = pd.factorize(prefix + path)
    templates = np.array([url_template(str(u)) for u in shapes], dtype=object)
    names, final = pd.factorize(templates[passed] if len(passed) else templates)
    row_codes = np.where(codes >= 0, names[codes] if len(names) else -1, -1)
    category = pd.Categorical.from_codes(
        row_codes, categories=pd.Index(final, dtype="string")
    )
    return pd.Series(category, index=urls.index)
