"""Making span values safe to show: Markdown escaping and URL credential masking.

HTML escaping is jinja2's autoescape; Markdown has no such thing, so every value
a Markdown template prints goes through :func:`md_escape` unless it was built
here as :class:`MdSafe` (a code span or a fenced block).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from markupsafe import Markup, escape

#: Characters that start Markdown or GFM markup inline; a backslash disarms them.
_MD_PUNCTUATION = re.compile(r"([\\`*_\[\]|~#])")
_NEWLINES = re.compile(r"\r\n|\r|\n")
_BACKTICK_RUN = re.compile(r"`+")
_CODE_IN_PROSE = re.compile(r"`([^`\n]+)`")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+")

#: Query parameters whose values are masked wherever a URL is shown.
SECRET_PARAMETERS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "code",
        "key",
        "password",
        "secret",
        "sig",
        "signature",
        "token",
    }
)
MASK = "***"


class MdSafe(str):
    """Markdown text built by perfkit itself, printed without escaping."""

    __slots__ = ()


def md_escape(value: object) -> str:
    """Markdown text that shows ``value`` literally, on one line.

    Pipes, backticks, emphasis and link brackets are backslash-escaped; angle
    brackets and ampersands become entities, so no raw HTML gets through;
    newlines become spaces so a value never ends a table row or starts a block.
    """
    text = _NEWLINES.sub(" ", str(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_PUNCTUATION.sub(r"\\\1", text)


def md_code(value: object, *, in_table: bool = False) -> MdSafe:
    """An inline code span showing ``value`` literally, on one line.

    In a GFM table a pipe ends the cell even inside a code span, so there it
    is escaped (GitHub removes the backslash when it renders the span).
    """
    text = _NEWLINES.sub(" ", str(value))
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return MdSafe(f"{fence}{pad}{text}{pad}{fence}")


def md_block(value: object, language: str = "") -> MdSafe:
    """A fenced code block showing ``value`` literally, however many lines."""
    text = str(value).rstrip("\n")
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return MdSafe(f"{fence}{language}\n{text}\n{fence}")


def md_prose(value: object) -> MdSafe:
    """Text written by perfkit, its `backticked` words as code spans.

    Everything is escaped as by :func:`md_escape`; only the backtick pairs
    turn into code spans, whose content is shown literally.
    """
    parts = _CODE_IN_PROSE.split(_NEWLINES.sub(" ", str(value)))
    # split() alternates text and the captured code: even indexes are text.
    return MdSafe(
        "".join(
            md_code(part) if index % 2 else md_escape(part)
            for index, part in enumerate(parts)
        )
    )


def html_prose(value: object) -> Markup:
    """Text written by perfkit, escaped, its `backticked` words as ``<code>``."""
    parts = _CODE_IN_PROSE.split(str(value))
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if index % 2 else escape(part)
        for index, part in enumerate(parts)
    )


def mask_url(url: str) -> str:
    """``url`` with its password and secret query values replaced by ``***``.

    Text that is not a URL is returned unchanged.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{MASK}@{host}"
    query = "&".join(_mask_parameter(item) for item in parts.query.split("&"))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_urls_in(text: str) -> str:
    """``text`` with every URL in it passed through :func:`mask_url`."""
    return _URL_IN_TEXT.sub(lambda match: mask_url(match.group(0)), text)


def _mask_parameter(item: str) -> str:
    name, equals, _ = item.partition("=")
    if equals and name.lower() in SECRET_PARAMETERS:
        return f"{name}={MASK}"
    return item
