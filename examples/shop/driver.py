"""The load driver: a fixed, seeded mix of requests sent with concurrency.

The plan is made up front: each endpoint gets its share of the requests by
weight (every endpoint at least once when the run has at least as many
requests as endpoints), then the order is shuffled.
Requests go out on an open-loop schedule (``rate`` per second) with a cap on
those in flight. The driver only talks to 127.0.0.1 or localhost and stops
after its requests or its deadline, whichever comes first.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
_ATTEMPTS = 3
_CLOSED_UNDER_US = (httpx.ReadError, httpx.RemoteProtocolError)
#: Products whose price is asked for: a popular few, as in a real shop.
HOT_PRODUCTS = 40


@dataclass(frozen=True)
class Planned:
    """One request to send, and the endpoint (server span name) it hits."""

    endpoint: str
    method: str
    path: str
    params: tuple[tuple[str, str | int], ...] = ()
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Sizes:
    """How many rows the driver may pick ids from."""

    products: int
    customers: int
    orders: int


Maker = Callable[[random.Random, Sizes], Planned]


def _product(rng: random.Random, sizes: Sizes) -> int:
    return rng.randint(1, sizes.products)


def _healthz(rng: random.Random, sizes: Sizes) -> Planned:
    return Planned("GET /healthz", "GET", "/healthz")


def _product_detail(rng: random.Random, sizes: Sizes) -> Planned:
    pid = _product(rng, sizes)
    return Planned("GET /products/{product_id}", "GET", f"/products/{pid}")


def _compare(rng: random.Random, sizes: Sizes) -> Planned:
    first, second = rng.sample(range(1, sizes.products + 1), 2)
    params = (("first", first), ("second", second))
    return Planned("GET /products/compare", "GET", "/products/compare", params)


def _cart(rng: random.Random, sizes: Sizes) -> Planned:
    ids = rng.sample(range(1, sizes.products + 1), rng.randint(2, 8))
    params = tuple(("product_id", i) for i in ids)
    return Planned("GET /cart/summary", "GET", "/cart/summary", params)


def _place_order(rng: random.Random, sizes: Sizes) -> Planned:
    products = rng.sample(range(1, sizes.products + 1), rng.randint(1, 4))
    body = {
        "customer_id": rng.randint(1, sizes.customers),
        "items": [{"product_id": p, "quantity": rng.randint(1, 3)} for p in products],
    }
    return Planned("POST /orders", "POST", "/orders", body=body)


def _recent_orders(rng: random.Random, sizes: Sizes) -> Planned:
    return Planned("GET /orders/recent", "GET", "/orders/recent")


def _sales(rng: random.Random, sizes: Sizes) -> Planned:
    pid = _product(rng, sizes)
    return Planned("GET /products/{product_id}/sales", "GET", f"/products/{pid}/sales")


def _price(rng: random.Random, sizes: Sizes) -> Planned:
    pid = rng.randint(1, min(HOT_PRODUCTS, sizes.products))
    return Planned("GET /products/{product_id}/price", "GET", f"/products/{pid}/price")


def _availability(rng: random.Random, sizes: Sizes) -> Planned:
    oid = rng.randint(1, sizes.orders)
    return Planned(
        "GET /orders/{order_id}/availability", "GET", f"/orders/{oid}/availability"
    )


def _export(rng: random.Random, sizes: Sizes) -> Planned:
    return Planned("GET /catalog/export", "GET", "/catalog/export")


#: Share of the requests per endpoint. The slow endpoints are a modest share:
#: the shop serves everything from one event loop on a 2-core machine, and a
#: 5,000-request recording should take a minute or two, not ten.
MIX: dict[str, tuple[float, Maker]] = {
    "GET /healthz": (0.12, _healthz),
    "GET /products/{product_id}": (0.28, _product_detail),
    "GET /products/compare": (0.08, _compare),
    "GET /cart/summary": (0.12, _cart),
    "POST /orders": (0.10, _place_order),
    "GET /orders/recent": (0.08, _recent_orders),
    "GET /products/{product_id}/sales": (0.07, _sales),
    "GET /products/{product_id}/price": (0.08, _price),
    "GET /orders/{order_id}/availability": (0.04, _availability),
    "GET /catalog/export": (0.03, _export),
}


def apportion(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``total`` by ``weights`` into whole numbers that add up to it.

    Largest remainder first; when ``total`` allows, every key gets at least one.
    """
    scale = total / sum(weights.values())
    exact = {key: weight * scale for key, weight in weights.items()}
    counts = {key: int(value) for key, value in exact.items()}
    if total >= len(weights):
        counts = {key: max(count, 1) for key, count in counts.items()}
    # Most under-served keys first: they gain the leftovers, the others give back.
    by_need = sorted(exact, key=lambda key: counts[key] - exact[key])
    for key in by_need[: max(total - sum(counts.values()), 0)]:
        counts[key] += 1
    while sum(counts.values()) > total:
        key = max(exact, key=lambda key: (counts[key] > 1, counts[key] - exact[key]))
        counts[key] -= 1
    return counts


def plan_requests(total: int, sizes: Sizes, *, seed: int) -> list[Planned]:
    """The requests of one run, in the order they will be sent."""
    rng = random.Random(seed)
    counts = apportion(total, {key: weight for key, (weight, _) in MIX.items()})
    plan = [MIX[key][1](rng, sizes) for key, n in counts.items() for _ in range(n)]
    rng.shuffle(plan)
    return plan


@dataclass
class LoadSummary:
    """What the driver sent and what came back, per endpoint."""

    requests: int = 0
    seconds: float = 0.0
    concurrency: int = 0
    rate: float | None = None
    stopped_early: bool = False
    retries: int = 0
    status: dict[str, Counter[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 1),
            "concurrency": self.concurrency,
            "rate": self.rate,
            "stopped_early": self.stopped_early,
            "retries": self.retries,
            "by_endpoint": {
                endpoint: {"requests": sum(codes.values()), "status": dict(codes)}
                for endpoint, codes in sorted(self.status.items())
            },
        }


def check_local(base_url: str) -> None:
    """Refuse any target that is not this machine's loopback interface."""
    host = urlsplit(base_url).hostname
    if host not in LOCAL_HOSTS:
        raise ValueError(
            f"the driver only targets 127.0.0.1 or localhost, not {host!r}"
        )


async def run_load(
    base_url: str,
    plan: list[Planned],
    *,
    concurrency: int,
    rate: float | None,
    max_seconds: float,
    timeout: float = 120.0,
) -> LoadSummary:
    """Send ``plan`` to ``base_url``, at most ``concurrency`` requests in flight.

    With a ``rate`` (requests per second), request ``i`` is sent no earlier
    than ``i / rate`` seconds after the start: an open-loop arrival schedule,
    as real users do not wait for each other. A shop that falls behind makes
    requests wait for a free slot, as a saturated server would.
    """
    check_local(base_url)
    summary = LoadSummary(concurrency=concurrency, rate=rate)
    pending = enumerate(plan)
    started = time.monotonic()
    deadline = started + max_seconds
    limits = httpx.Limits(max_connections=concurrency)

    async with httpx.AsyncClient(
        base_url=base_url, timeout=timeout, limits=limits
    ) as client:

        async def worker() -> None:
            for index, planned in pending:
                if rate:
                    await asyncio.sleep(started + index / rate - time.monotonic())
                if time.monotonic() > deadline:
                    summary.stopped_early = True
                    return
                outcome = await _send(client, planned, summary)
                summary.status.setdefault(planned.endpoint, Counter())[outcome] += 1
                summary.requests += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    summary.seconds = time.monotonic() - started
    return summary


async def _send(
    client: httpx.AsyncClient, planned: Planned, summary: LoadSummary
) -> str:
    for attempt in range(_ATTEMPTS):
        try:
            response = await client.request(
                planned.method, planned.path, params=planned.params, json=planned.body
            )
        except _CLOSED_UNDER_US as error:
            # uvicorn closes a keep-alive connection after an unhandled
            # exception; a request sent on it just then never reached the app.
            if attempt + 1 < _ATTEMPTS:
                summary.retries += 1
                continue
            return type(error).__name__
        except httpx.TransportError as error:
            return type(error).__name__
        return str(response.status_code)
    raise AssertionError("unreachable")
