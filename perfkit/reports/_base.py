"""The renderer contract every report format follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from perfkit.analysis.model import Analysis


class Renderer(ABC):
    """Turns an :class:`~perfkit.analysis.model.Analysis` into one report format.

    A renderer has a ``name`` (what ``--format`` takes) and an ``extension``
    (what its files are called, and how ``--output report.html`` picks it);
    ``render`` returns the whole report as text. Renderers compute nothing:
    they read the analysis through its plain-data document.
    """

    #: The format's name, as given to ``--format``.
    name: ClassVar[str]
    #: The extension of a file in this format, with its dot.
    extension: ClassVar[str]
    #: Other extensions that also select this renderer.
    other_extensions: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def render(self, analysis: Analysis) -> str:
        """The whole report, as text."""
