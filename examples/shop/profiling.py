"""Profile a sample of requests with pyinstrument, tagged with their span.

The middleware sits inside the OpenTelemetry server middleware, so the current
span is the request's SERVER span. A request is sampled when its trace id falls
in the first ``rate`` of the id space, which keeps the choice independent of
the endpoint and repeatable from the trace alone. Each profile is saved as
``<trace_id>-<span_id>.pyisession`` and its ``target_description`` names the
span too, so a reader can join a profile to its request from either.

Every endpoint of the shop runs on the event loop thread, which is the thread
the profiler samples; with ``async_mode="enabled"`` the time a request spends
awaiting is attributed to the ``await`` that waited.
"""

from __future__ import annotations

from pathlib import Path

from opentelemetry import trace
from pyinstrument import Profiler
from starlette.types import ASGIApp, Receive, Scope, Send

_ID_SPACE = 1 << 128


def profile_name(trace_id: str, span_id: str) -> str:
    """The file name of the profile of one request."""
    return f"{trace_id}-{span_id}.pyisession"


def target_description(span_name: str, trace_id: str, span_id: str) -> str:
    """What a profile says it profiled: the span's name and ids."""
    return f"{span_name} trace_id={trace_id} span_id={span_id}"


class ProfileSampler:
    """ASGI middleware that profiles a share of HTTP requests."""

    def __init__(
        self, app: ASGIApp, *, directory: str | Path, rate: float, interval: float
    ) -> None:
        self.app = app
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.threshold = int(rate * _ID_SPACE)
        self.interval = interval

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        span = trace.get_current_span()
        context = span.get_span_context()
        if (
            scope["type"] != "http"
            or not context.is_valid
            or context.trace_id >= self.threshold
        ):
            await self.app(scope, receive, send)
            return

        trace_id = trace.format_trace_id(context.trace_id)
        span_id = trace.format_span_id(context.span_id)
        profiler = Profiler(interval=self.interval, async_mode="enabled")
        profiler.start()
        try:
            await self.app(scope, receive, send)
        finally:
            session = profiler.stop()
            name = str(getattr(span, "name", scope.get("path", "")))
            session.target_description = target_description(name, trace_id, span_id)
            session.save(self.directory / profile_name(trace_id, span_id))
