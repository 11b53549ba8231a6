"""The terminal summary: rich tables of the top endpoints and the findings."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from perfkit.reports import _format as fmt
from perfkit.reports._base import Renderer
from perfkit.reports._view import EndpointRow, FindingView, ReportView, build_view

if TYPE_CHECKING:
    from perfkit.analysis.model import Analysis

SEVERITY_STYLES = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
}


class TextRenderer(Renderer):
    """A summary for the terminal: top endpoints, findings and warnings.

    :meth:`renderable` gives rich renderables for a console to print in colour;
    :meth:`render` gives the same summary as plain text, ``width`` columns wide.
    """

    name = "text"
    extension = ".txt"

    def __init__(self, *, width: int = 100, show_warnings: bool = True) -> None:
        self.width = width
        self.show_warnings = show_warnings

    def renderable(self, analysis: Analysis) -> RenderableType:
        """The summary as rich renderables, for ``console.print``."""
        view = build_view(analysis)
        parts: list[RenderableType] = [_header(view), _endpoints(view)]
        parts.append(_findings(view))
        if self.show_warnings and view.warnings:
            parts.append(_warnings(view))
        # Tables end in a blank line of their own; text parts need one.
        return Group(*(_spaced(part) for part in parts))

    def render(self, analysis: Analysis) -> str:
        buffer = io.StringIO()
        console = Console(
            file=buffer, width=self.width, color_system=None, force_terminal=False
        )
        console.print(self.renderable(analysis))
        # Rich pads every line to the full width; a file needs none of that.
        lines = buffer.getvalue().rstrip().splitlines()
        return "".join(f"{line.rstrip()}\n" for line in lines)


def _spaced(part: RenderableType) -> RenderableType:
    return part if isinstance(part, Table) else Padding(part, (0, 0, 1, 0))


def _header(view: ReportView) -> Text:
    text = Text()
    text.append(f"perfkit {view.perfkit_version}", style="bold")
    text.append(" · run ")
    text.append(printable(view.run), style="bold")
    text.append(f" · {fmt.counted(view.spans, 'span')} · ")
    text.append(fmt.counted(len(view.endpoints), "endpoint"))
    if view.several_services:
        text.append(f" in {fmt.counted(len(view.services), 'service')}")
    inputs = ", ".join(printable(item) for item in view.inputs_shown)
    if view.inputs_hidden:
        inputs += f" and {fmt.counted(view.inputs_hidden, 'more file')}"
    text.append(f"\nfrom {inputs}", style="dim")
    text.append(f" · {view.created_at}", style="dim")
    return text


def _endpoints(view: ReportView) -> RenderableType:
    if not view.top and not view.thin:
        return Text(
            "No endpoint has enough requests to rank; see the warnings below.",
            style="yellow",
        )
    table = _table("Slowest endpoints by p95")
    table.add_column("#", justify="right")
    table.add_column("Endpoint and likely cause", overflow="fold")
    if view.several_services:
        table.add_column("Service", overflow="fold")
    for header in ("Requests", "p50", "p95", "Errors"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in view.top:
        table.add_row(*_endpoint_cells(row, view.several_services))
    if view.thin:
        table.add_section()
    for row in view.thin:
        table.add_row(*_endpoint_cells(row, view.several_services))
    return table


#: Characters that would act on a terminal rather than show: C0 and C1
#: controls (escape sequences, carriage returns) and bidirectional overrides.
_UNPRINTABLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)


def printable(value: object) -> str:
    """Text from a span shown as written, its control characters escaped
    (``\\x1b``, ``\\n``), so it cannot move the cursor or recolour a line."""
    return _UNPRINTABLE.sub(_escaped, str(value))


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return repr(char)[1:-1] if char.isascii() else f"\\u{ord(char):04x}"


def _endpoint_cells(row: EndpointRow, several_services: bool) -> list[Text]:
    # The cause sits under the endpoint, so the table fits 80 columns.
    endpoint = Text(printable(row.endpoint))
    if not row.enough_data:
        requests = fmt.counted(row.requests or 0, "request")
        endpoint.append(f"\n  not enough data to rank ({requests})", style="yellow")
    if row.cause is None and row.enough_data:
        endpoint.append("\n  no finding", style="dim")
        if row.time_mostly_in:
            endpoint.append(f"; time mostly in {row.time_mostly_in}", style="dim")
    elif row.cause is not None:
        endpoint.append(
            "\n  " + row.cause.kind_label, SEVERITY_STYLES[row.cause.severity]
        )
        endpoint.append(f" (finding {row.cause.number})", style="dim")
    cells = [Text(str(row.rank or "–")), endpoint]
    if several_services:
        cells.append(Text(printable(row.service)))
    return [
        *cells,
        Text(fmt.count(row.requests)),
        Text(fmt.ms(row.p50_ms)),
        Text(fmt.ms(row.p95_ms), style="bold"),
        Text(fmt.percent(row.error_rate)),
    ]


def _findings(view: ReportView) -> RenderableType:
    if not view.findings:
        return Text("No findings: nothing in these traces matches a known cause.")
    table = _table(f"Findings ({len(view.findings)})")
    table.add_column("#", justify="right")
    table.add_column("Severity", no_wrap=True)
    table.add_column("Saves", justify="right", no_wrap=True)
    table.add_column("Finding and fix")
    for finding in view.findings:
        table.add_row(*_finding_cells(finding, view.several_services))
    return table


def _finding_cells(finding: FindingView, several_services: bool) -> list[Text]:
    saving = Text(f"{fmt.ms(finding.saved_ms_per_request)}/req")
    saving.append(f"\n{fmt.total_time(finding.saved_ms_total)} total", style="dim")
    where = f"{finding.kind_label} on {printable(finding.endpoint)}"
    if several_services:
        where += f" ({printable(finding.service)})"
    story = Text(printable(finding.title), style="bold")
    if several_services or finding.endpoint not in finding.title:
        story.append(f"\n{where}", style="dim")
    story.append("\nFix: ", style="green").append(printable(finding.fix_summary))
    severity = Text(finding.severity, style=SEVERITY_STYLES[finding.severity])
    return [Text(str(finding.number)), severity, saving, story]


def _table(title: str) -> Table:
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
    )


def _warnings(view: ReportView) -> RenderableType:
    lines = [Text("Warnings", style="bold yellow")]
    lines += [Text(f"• {printable(warning)}") for warning in view.warnings]
    return Group(*lines)
