"""The shop's FastAPI application, instrumented as a user would instrument it.

:func:`create_app` reads its settings from ``SHOP_*`` environment variables,
so ``uvicorn --factory examples.shop.app:create_app`` serves it. The variant
(``before`` or ``after``) picks between the problem and the fix in each
endpoint of :mod:`examples.shop.endpoints`, where both sit side by side.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from sqlalchemy import create_engine, event

from examples.shop import endpoints
from examples.shop.profiling import ProfileSampler
from examples.shop.state import PriceCache, Shop, Supplier
from examples.shop.telemetry import setup_tracing

#: The release each variant plays: the fixes (and the regression) ship in 1.1.
SERVICE_VERSIONS = {"before": "1.0.0", "after": "1.1.0"}


@dataclass(frozen=True)
class Settings:
    """How to run the shop; :meth:`from_env` reads the ``SHOP_*`` variables."""

    variant: str = "before"
    db_path: str = "examples/shop/shop-before.db"
    supplier_url: str = "http://127.0.0.1:8001"
    traces_path: str | None = None
    profiles_dir: str | None = None
    profile_rate: float = 0.1
    profile_interval: float = 0.001
    price_cache_seconds: float = 600.0

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            variant=env.get("SHOP_VARIANT", cls.variant),
            db_path=env.get("SHOP_DB", cls.db_path),
            supplier_url=env.get("SHOP_SUPPLIER_URL", cls.supplier_url),
            traces_path=env.get("SHOP_TRACES") or None,
            profiles_dir=env.get("SHOP_PROFILES") or None,
            profile_rate=float(env.get("SHOP_PROFILE_RATE", cls.profile_rate)),
        )


def _sqlite_pragmas(dbapi_connection: Any, record: object) -> None:
    # WAL (set by the seed) with synchronous=NORMAL: a commit does not wait
    # for fsync, which would otherwise stall the event loop on every order.
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the instrumented shop app."""
    settings = settings or Settings.from_env()
    if settings.variant not in SERVICE_VERSIONS:
        raise ValueError(f"SHOP_VARIANT must be before or after: {settings.variant!r}")

    provider = setup_tracing(
        settings.traces_path, service_version=SERVICE_VERSIONS[settings.variant]
    )
    # A request keeps its connection while it awaits the supplier, so the pool
    # must hold one per request in flight: a pool wait would block the loop.
    engine = create_engine(
        f"sqlite:///{settings.db_path}", pool_size=32, max_overflow=32, pool_timeout=5
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    SQLAlchemyInstrumentor().instrument(engine=engine, tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Enough kept-alive connections for every request in flight: opening
        # a connection costs several trips through a busy event loop.
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        client = httpx.AsyncClient(
            base_url=settings.supplier_url, timeout=2.0, limits=limits
        )
        app.state.shop = Shop(
            variant=settings.variant,
            engine=engine,
            supplier=Supplier(client),
            price_cache=PriceCache(ttl=settings.price_cache_seconds),
        )
        yield
        await client.aclose()
        engine.dispose()
        # Flush the spans still queued before the process exits.
        provider.shutdown()

    app = FastAPI(title="shop", lifespan=lifespan)
    app.include_router(endpoints.router)
    if settings.profiles_dir is not None and settings.profile_rate > 0:
        app.add_middleware(
            ProfileSampler,
            directory=settings.profiles_dir,
            rate=settings.profile_rate,
            interval=settings.profile_interval,
        )
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    return app
