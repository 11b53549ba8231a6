"""The supplier: a stand-in for a third-party pricing and stock API.

It is not instrumented (it is someone else's service), answers after 100 to
400 ms like a remote API does, and fails now and then with a 503. Handlers
sleep with ``asyncio.sleep``, so one process serves many calls at once.
Latencies and failures come from a seeded generator: two recordings see the
same kind of weather, not the same sequence.
"""

from __future__ import annotations

import asyncio
import os
import random
from typing import Annotated

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse

#: (low, high, mode) of the triangular latency in seconds, per call kind.
LATENCY = {
    "price": (0.10, 0.40, 0.16),
    "stock": (0.10, 0.25, 0.12),
    "stock_batch": (0.12, 0.30, 0.16),
}
#: Share of calls answered with 503 Service Unavailable, per call kind.
ERROR_RATE = {"price": 0.03, "stock": 0.01, "stock_batch": 0.01}


def create_supplier_app(seed: int | None = None) -> FastAPI:
    """The supplier's ASGI app."""
    if seed is None:
        seed = int(os.environ.get("SUPPLIER_SEED", "7"))
    rng = random.Random(seed)
    app = FastAPI(title="supplier", openapi_url=None)

    async def answer(kind: str, body: dict[str, object]) -> JSONResponse:
        # Draw both numbers up front so the error decision never shifts latencies.
        latency, roll = rng.triangular(*LATENCY[kind]), rng.random()
        await asyncio.sleep(latency)
        if roll < ERROR_RATE[kind]:
            return JSONResponse({"error": "upstream busy"}, status_code=503)
        return JSONResponse(body)

    @app.get("/prices/{sku}")
    async def price(sku: str) -> JSONResponse:
        cents = 100 + sum(map(ord, sku)) * 37 % 40_000
        return await answer("price", {"sku": sku, "price_cents": cents})

    @app.get("/stock/{sku}")
    async def stock(sku: str) -> JSONResponse:
        return await answer("stock", {"sku": sku, "available": _units(sku)})

    @app.get("/stock")
    async def stock_batch(sku: Annotated[list[str], Query()]) -> JSONResponse:
        levels = {s: _units(s) for s in sku}
        return await answer("stock_batch", {"available": levels})

    return app


def _units(sku: str) -> int:
    return sum(map(ord, sku)) * 13 % 50
