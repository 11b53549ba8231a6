"""Analysis thresholds: their defaults, and reading them from a config file.

perfkit reads its settings from ``perfkit.toml`` (keys at the top level) or from
the ``[tool.perfkit]`` table of ``pyproject.toml``::

    [tool.perfkit]
    slow_query_p95_ms = 250
    suppress = ["n_plus_one_query:3f2a9c01b7de"]

    # Per-endpoint overrides, keyed by the endpoint as perfkit names it.
    [tool.perfkit.endpoints."GET /reports/yearly"]
    slow_query_p95_ms = 2000

Every key and its default is a field of :class:`Config`. An unknown key, a
value of the wrong type or a negative threshold raises
:class:`~perfkit.errors.ConfigError` naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit.errors import ConfigError

logger = logging.getLogger(__name__)

#: Keys an endpoint override table may set: the detector thresholds.
THRESHOLD_KEYS = frozenset(
    {
        "n_plus_one_min_count",
        "n_plus_one_http_min_count",
        "redundant_min_count",
        "slow_query_p95_ms",
        "slow_external_p95_ms",
        "external_share",
        "external_min_ms",
        "external_min_request_share",
        "index_min_calls",
        "index_min_mean_ms",
        "assumed_indexed_ms",
    }
)


@dataclass(frozen=True)
class Config:
    """Thresholds and options for endpoint statistics and the detectors.

    Attributes:
        top: How many endpoints :func:`~perfkit.analysis.top_endpoints` ranks.
        min_requests_for_p95: Endpoints with fewer requests are listed as not
            having enough data instead of being ranked by their p95.
        n_plus_one_min_count: Repeats of one statement under one parent in one
            request that make an N+1.
        n_plus_one_http_min_count: The same for outgoing HTTP calls.
        redundant_min_count: Executions of one statement with identical
            parameters in one request that make a redundant query.
        slow_query_p95_ms: A statement whose p95 on an endpoint reaches this is
            slow.
        slow_external_p95_ms: Calls to a host whose p95 on an endpoint reaches
            this are slow.
        external_share: Calls to a host that take this share of an endpoint's
            time are slow too.
        external_min_ms: Slow calls are reported only when they cost the
            endpoint this much per request on average, counting requests that
            do not make them as 0.
        external_min_request_share: ... and only when at least this share of
            the endpoint's requests make them.
        index_min_calls: A SELECT run at least this often on an endpoint, with
            a mean of at least ``index_min_mean_ms``, is checked for a missing
            index even when it is not slow.
        index_min_mean_ms: See ``index_min_calls``.
        assumed_indexed_ms: Without a query plan, the time one execution is
            assumed to take once the index exists.
        explain_timeout_ms: Time limit for each EXPLAIN against ``--app-db``.
        suppress: Finding ids to leave out of the results.
        endpoints: Per-endpoint overrides: endpoint -> {threshold key: value}.
        source: The file the settings came from, if any.
    """

    top: int = 5
    min_requests_for_p95: int = 20
    n_plus_one_min_count: int = 5
    n_plus_one_http_min_count: int = 5
    redundant_min_count: int = 3
    slow_query_p95_ms: float = 100.0
    slow_external_p95_ms: float = 200.0
    external_share: float = 0.3
    external_min_ms: float = 50.0
    external_min_request_share: float = 0.25
    index_min_calls: int = 50
    index_min_mean_ms: float = 5.0
    assumed_indexed_ms: float = 1.0
    explain_timeout_ms: int = 2000
    suppress: frozenset[str] = frozenset()
    endpoints: dict[str, dict[str, float]] = field(default_factory=dict)
    source: Path | None = None

    def for_endpoint(self, endpoint: str) -> Config:
        """These settings with the overrides for ``endpoint`` applied."""
        overrides = self.endpoints.get(endpoint)
        if not overrides:
            return self
        return dataclasses.replace(self, **overrides)  # type: ignore[arg-type]


_FIELDS = {f.name: f for f in dataclasses.fields(Config) if f.name != "source"}


def load_config(path_or_dir: str | Path | None = None) -> Config:
    """Read settings from a config file, or return the defaults.

    Args:
        path_or_dir: A ``perfkit.toml`` or ``pyproject.toml`` file, or a
            directory to start looking in (default: the working directory).
            From a directory, perfkit looks there and then in each parent for
            a ``perfkit.toml``, or a ``pyproject.toml`` with a
            ``[tool.perfkit]`` table, and uses the first it finds.

    Returns:
        The settings, with defaults for every key the file does not set.

    Raises:
        ConfigError: The file cannot be read, is not TOML, or sets an unknown
            key or an unusable value.
    """
    start = Path.cwd() if path_or_dir is None else Path(path_or_dir)
    found = _find_config(start) if start.is_dir() else (start, _read_table(start))
    if found is None:
        return Config()
    path, table = found
    if table is None:
        return Config()
    config = _from_table(table, path)
    logger.info("read settings from %s", path)
    return config


def _find_config(directory: Path) -> tuple[Path, dict[str, Any] | None] | None:
    for folder in (directory.resolve(), *directory.resolve().parents):
        for name in ("perfkit.toml", "pyproject.toml"):
            table = _read_table(folder / name) if (folder / name).is_file() else None
            if table is not None:
                return folder / name, table
    return None


def _read_table(path: Path) -> dict[str, Any] | None:
    """The perfkit settings in ``path``; None for a pyproject.toml without any."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file: {error}") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    if path.name != "pyproject.toml":
        return document
    table = document.get("tool", {}).get("perfkit")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.perfkit] must be a table")
    return table


def _from_table(table: dict[str, Any], path: Path) -> Config:
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "suppress":
            values[key] = _suppress(value, path)
        elif key == "endpoints":
            values[key] = _endpoint_overrides(value, path)
        else:
            values[key] = _threshold(key, value, path, allowed=_FIELDS)
    return Config(**values, source=path)


def _suppress(value: object, path: Path) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: 'suppress' must be a list of finding ids")
    return frozenset(value)


def _endpoint_overrides(value: object, path: Path) -> dict[str, dict[str, float]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: 'endpoints' must be a table of endpoint tables")
    overrides: dict[str, dict[str, float]] = {}
    for endpoint, table in value.items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"{path}: endpoints.{endpoint!r} must be a table of thresholds"
            )
        overrides[endpoint] = {
            key: _threshold(key, v, path, allowed=THRESHOLD_KEYS, where=endpoint)
            for key, v in table.items()
        }
    return overrides


def _threshold(
    key: str,
    value: object,
    path: Path,
    *,
    allowed: dict[str, dataclasses.Field[Any]] | frozenset[str],
    where: str | None = None,
) -> float:
    name = f"endpoints.{where!r}.{key}" if where else key
    if key not in allowed or key in ("suppress", "endpoints"):
        close = difflib.get_close_matches(key, list(allowed), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{path}: unknown setting {name!r}{hint}")
    default = getattr(Config(), key)
    wanted = int if isinstance(default, int) else float
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}: {name!r} must be a number, not {value!r}")
    if wanted is int and not isinstance(value, int):
        raise ConfigError(f"{path}: {name!r} must be a whole number, not {value!r}")
    if math.isnan(value):
        raise ConfigError(f"{path}: {name!r} must be a number, not nan")
    if value < 0 or (wanted is int and value == 0 and key != "min_requests_for_p95"):
        raise ConfigError(f"{path}: {name!r} must be positive, not {value!r}")
    if key in _SHARES and value > 1:
        raise ConfigError(
            f"{path}: {name!r} is a share of the endpoint, from 0 to 1, not {value!r}"
        )
    if key in _REPEAT_COUNTS and value < 2:
        raise ConfigError(
            f"{path}: {name!r} must be at least 2 (one call is no repeat), "
            f"not {value!r}"
        )
    return wanted(value)


#: Settings that are fractions of 0..1.
_SHARES = frozenset({"external_share", "external_min_request_share"})
#: Settings that count repeats of one call.
_REPEAT_COUNTS = frozenset(
    {"n_plus_one_min_count", "n_plus_one_http_min_count", "redundant_min_count"}
)
