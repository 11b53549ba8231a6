"""What the shop's endpoints share: the variant, the database and the supplier."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine


class Supplier:
    """The shop's client for the supplier API; a failed call returns ``None``."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def price(self, sku: str) -> int | None:
        body = await self._get(f"/prices/{sku}")
        return None if body is None else int(body["price_cents"])

    async def stock(self, sku: str) -> int | None:
        body = await self._get(f"/stock/{sku}")
        return None if body is None else int(body["available"])

    async def stock_many(self, skus: list[str]) -> dict[str, int] | None:
        body = await self._get("/stock", params={"sku": skus})
        return None if body is None else dict(body["available"])

    async def _get(
        self, path: str, params: dict[str, list[str]] | None = None
    ) -> dict[str, Any] | None:
        try:
            response = await self.client.get(path, params=params)
        except httpx.TransportError:
            return None
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body


@dataclass
class PriceCache:
    """Supplier prices kept for ``ttl`` seconds; failures are not kept."""

    ttl: float
    entries: dict[str, tuple[float, int]] = field(default_factory=dict)

    async def get(
        self, sku: str, load: Callable[[str], Awaitable[int | None]]
    ) -> int | None:
        now = time.monotonic()
        hit = self.entries.get(sku)
        if hit is not None and hit[0] > now:
            return hit[1]
        price = await load(sku)
        if price is not None:
            self.entries[sku] = (now + self.ttl, price)
        return price


@dataclass
class Shop:
    """What the endpoints share: the variant, the database, the supplier."""

    variant: str
    engine: Engine
    supplier: Supplier
    price_cache: PriceCache
