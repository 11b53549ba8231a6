from __future__ import annotations

from pathlib import Path

import pytest

from perfkit.config import Config, load_config
from perfkit.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_documented_ones() -> None:
    config = Config()
    assert config.n_plus_one_min_count == 5
    assert config.slow_query_p95_ms == 100.0
    assert config.slow_external_p95_ms == 200.0
    assert config.min_requests_for_p95 == 20
    assert config.top == 5
    assert config.suppress == frozenset()


def test_no_file_gives_the_defaults(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert load_config(nested) == Config()


def test_reads_tool_perfkit_from_pyproject(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "shop"\n\n'
        "[tool.perfkit]\n"
        "slow_query_p95_ms = 250\n"
        "n_plus_one_min_count = 8\n"
        'suppress = ["n_plus_one_query:0123456789ab"]\n',
    )
    config = load_config(tmp_path)
    assert config.slow_query_p95_ms == 250.0
    assert isinstance(config.slow_query_p95_ms, float)
    assert config.n_plus_one_min_count == 8
    assert config.suppress == {"n_plus_one_query:0123456789ab"}
    assert config.source == tmp_path / "pyproject.toml"
    assert config.slow_external_p95_ms == 200.0


def test_perfkit_toml_is_found_from_a_subdirectory_and_wins(tmp_path: Path) -> None:
    write(tmp_path / "perfkit.toml", "top = 3\n")
    write(tmp_path / "pyproject.toml", "[tool.perfkit]\ntop = 9\n")
    inner = tmp_path / "src" / "app"
    inner.mkdir(parents=True)
    config = load_config(inner)
    assert config.top == 3
    assert config.source == (tmp_path / "perfkit.toml").resolve()


def test_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    write(tmp_path / "perfkit.toml", "top = 7\n")
    inner = tmp_path / "service"
    inner.mkdir()
    write(inner / "pyproject.toml", '[project]\nname = "x"\n')
    assert load_config(inner).top == 7
    assert load_config(inner / "pyproject.toml") == Config()


def test_endpoint_overrides_apply_to_that_endpoint_only(tmp_path: Path) -> None:
    path = write(
        tmp_path / "perfkit.toml",
        "slow_query_p95_ms = 150\n"
        '[endpoints."GET /reports/yearly"]\n'
        "slow_query_p95_ms = 2000\n"
        "n_plus_one_min_count = 12\n",
    )
    config = load_config(path)
    report = config.for_endpoint("GET /reports/yearly")
    assert report.slow_query_p95_ms == 2000.0
    assert report.n_plus_one_min_count == 12
    other = config.for_endpoint("GET /books")
    assert other.slow_query_p95_ms == 150.0
    assert other.n_plus_one_min_count == 5


def test_unknown_key_names_the_file_the_key_and_a_close_match(tmp_path: Path) -> None:
    path = write(tmp_path / "perfkit.toml", "slow_query_p59_ms = 100\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert "'slow_query_p59_ms'" in message
    assert "did you mean 'slow_query_p95_ms'" in message


def test_unknown_key_in_an_endpoint_override(tmp_path: Path) -> None:
    path = write(tmp_path / "perfkit.toml", '[endpoints."GET /x"]\ntop = 2\n')
    with pytest.raises(ConfigError, match=r"endpoints\.'GET /x'\.top"):
        load_config(path)


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ('slow_query_p95_ms = "fast"', "must be a number"),
        ("n_plus_one_min_count = 2.5", "must be a whole number"),
        ("slow_query_p95_ms = -1", "must be positive"),
        ("top = 0", "must be positive"),
        ("external_share = true", "must be a number"),
        ('suppress = "abc"', "must be a list of finding ids"),
        ('endpoints = ["GET /x"]', "must be a table"),
        # NaN passes every comparison as false: it silently turned detectors off.
        ("slow_query_p95_ms = nan", "must be a number, not nan"),
        ("external_share = 5.0", "is a share of the endpoint, from 0 to 1"),
        ("external_min_request_share = 25", "from 0 to 1, not 25"),
        # One call "repeated" once made every query an N+1.
        ("n_plus_one_min_count = 1", "must be at least 2"),
        ('[endpoints."GET /x"]\nredundant_min_count = 1', "must be at least 2"),
    ],
)
def test_bad_values_are_refused(tmp_path: Path, line: str, complaint: str) -> None:
    path = write(tmp_path / "perfkit.toml", line + "\n")
    with pytest.raises(ConfigError, match=complaint):
        load_config(path)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "perfkit.toml", "top = \n")
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_config(path)
    assert str(path) in str(caught.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")
