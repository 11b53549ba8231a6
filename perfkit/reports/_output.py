"""Choosing a renderer by name or file extension, and writing report files."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from perfkit.errors import ConfigError
from perfkit.reports._base import Renderer
from perfkit.reports._html import HtmlRenderer
from perfkit.reports._json import JsonRenderer
from perfkit.reports._markdown import MarkdownRenderer
from perfkit.reports._text import TextRenderer

if TYPE_CHECKING:
    from perfkit.analysis.model import Analysis

logger = logging.getLogger(__name__)

#: Every renderer, by the name ``--format`` takes.
RENDERERS: dict[str, type[Renderer]] = {
    renderer.name: renderer
    for renderer in (TextRenderer, JsonRenderer, MarkdownRenderer, HtmlRenderer)
}

#: What a report directory gets when no format is named.
DIRECTORY_FORMATS = ("html", "markdown")

#: The file name, before its extension, of a report written into a directory.
REPORT_STEM = "report"


def renderer_for(
    format: str | None = None, output: str | os.PathLike[str] | None = None
) -> Renderer:
    """The renderer for ``format`` by name, else for ``output``'s extension.

    With neither, the text summary.

    Raises:
        ConfigError: ``format`` names no renderer, or ``output`` has an
            extension no renderer writes.
    """
    if format is not None:
        if format not in RENDERERS:
            raise ConfigError(
                f"unknown report format {format!r}; use one of {_names()}"
            )
        return RENDERERS[format]()
    if output is None:
        return TextRenderer()
    suffix = Path(output).suffix.lower()
    for renderer in RENDERERS.values():
        if suffix in (renderer.extension, *renderer.other_extensions):
            return renderer()
    raise ConfigError(
        f"cannot tell the report format from the name {os.fspath(output)!r}; "
        f"end it in {_extensions()} or name the format ({_names()})"
    )


def report_targets(
    output: str | os.PathLike[str], format: str | None = None
) -> list[tuple[Renderer, Path]]:
    """The renderer and file of each report :func:`write_report` would write.

    Raises:
        ConfigError: as :func:`renderer_for`.
    """
    path = Path(output)
    if not _is_directory(output):
        return [(renderer_for(format, path), path)]
    formats: Sequence[str] = (format,) if format else DIRECTORY_FORMATS
    renderers = [renderer_for(name) for name in formats]
    return [(r, path / f"{REPORT_STEM}{r.extension}") for r in renderers]


def write_report(
    analysis: Analysis,
    output: str | os.PathLike[str],
    *,
    format: str | None = None,
) -> list[Path]:
    """Write the report of ``analysis`` to ``output``; return the files written.

    ``output`` is a file, its format named by ``format`` or by its extension,
    or a directory (one that exists, or a path ending in a separator) that
    gets ``report.html`` and ``report.md``, or just the ``format`` given.
    Missing parent directories are created.

    Raises:
        ConfigError: as :func:`renderer_for`, or a report cannot be written
            there (a directory in the way, no permission, a full disk).
    """
    written = []
    for renderer, target in report_targets(output, format):
        text = renderer.render(analysis)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as error:
            raise _unwritable(target, error) from None
        logger.info("wrote the %s report to %s", renderer.name, target)
        written.append(target)
    return written


def check_targets(
    targets: Sequence[tuple[Renderer, Path]], inputs: Sequence[str | Path] = ()
) -> None:
    """Fail early, before the analysis, where a report could not be written.

    Raises:
        ConfigError: A target is a directory, would overwrite one of
            ``inputs``, or lies under a file or a folder perfkit may not
            write in.
    """
    read = {Path(path).resolve() for path in inputs}
    for _, target in targets:
        if target.resolve() in read:
            raise ConfigError(
                f"--output {os.fspath(target)!r} is one of the trace files being "
                "analysed; writing the report there would destroy it. Choose "
                "another name."
            )
        if target.is_dir():
            raise _unwritable(target, IsADirectoryError(21, "it is a directory"))
        folder = target.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise _unwritable(target, NotADirectoryError(20, f"{folder} is a file"))
        if not os.access(folder, os.W_OK | os.X_OK):
            raise _unwritable(target, PermissionError(13, f"{folder} is read-only"))


def _unwritable(target: Path, error: OSError) -> ConfigError:
    reason = error.strerror or str(error)
    return ConfigError(f"cannot write the report to {os.fspath(target)}: {reason}")


def _is_directory(output: str | os.PathLike[str]) -> bool:
    text = os.fspath(output)
    return Path(text).is_dir() or text.endswith(("/", os.sep))


def _names() -> str:
    return ", ".join(RENDERERS)


def _extensions() -> str:
    return ", ".join(
        ext for r in RENDERERS.values() for ext in (r.extension, *r.other_extensions)
    )
