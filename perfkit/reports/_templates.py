"""The jinja2 environments the HTML and Markdown reports render with.

HTML autoescapes every value. Markdown cannot use autoescape, so its
environment escapes every printed value through ``finalize`` instead, and only
:class:`~perfkit.reports._escape.MdSafe` text (code spans and blocks that perfkit
builds) passes unchanged: a template cannot forget to escape a span value.
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2

from perfkit.reports import _format as fmt
from perfkit.reports._escape import (
    MdSafe,
    html_prose,
    md_block,
    md_code,
    md_escape,
    md_prose,
)

_FILTERS = {
    "ms": fmt.ms,
    "total_time": fmt.total_time,
    "percent": fmt.percent,
    "count": fmt.count,
    "counted": fmt.counted,
    "decimal": fmt.decimal,
    "interval": fmt.p95_interval,
}


def _md_finalize(value: Any) -> str:
    if isinstance(value, MdSafe):
        return value
    return fmt.MISSING if value is None else md_escape(value)


def _base_options() -> dict[str, Any]:
    return {
        "loader": jinja2.PackageLoader("perfkit.reports", "templates"),
        "undefined": jinja2.StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
    }


@functools.cache
def html_environment() -> jinja2.Environment:
    """The environment of the HTML report: autoescape always on."""
    env = jinja2.Environment(autoescape=True, **_base_options())
    env.filters.update(_FILTERS)
    env.filters["prose"] = html_prose
    return env


@functools.cache
def markdown_environment() -> jinja2.Environment:
    """The environment of the Markdown report: every value escaped on output."""
    env = jinja2.Environment(autoescape=False, finalize=_md_finalize, **_base_options())
    env.filters.update(_FILTERS)
    env.filters["code"] = md_code
    env.filters["cell_code"] = functools.partial(md_code, in_table=True)
    env.filters["block"] = md_block
    env.filters["prose"] = md_prose
    return env
