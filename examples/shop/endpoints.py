"""The shop's endpoints, each problem beside its fix.

``shop.variant`` picks the code path: ``before`` is release 1.0.0 with its
problems, ``after`` is release 1.1.0 with the fixes and one new bug.
:mod:`examples.shop.answer_key` lists what each endpoint is meant to show.

Every endpoint is ``async`` and talks to SQLite through a synchronous session
on the event loop: simple, common, and a single thread for the profiler to
sample. Only the supplier calls really overlap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, joinedload, selectinload

from examples.shop.models import Category, Customer, Order, OrderItem, Product
from examples.shop.state import Shop

router = APIRouter()

#: Release 1.1.0's loyalty discount, in percent. It forgets the "platinum" tier.
LOYALTY_DISCOUNT = {"bronze": 0, "silver": 2, "gold": 5}


async def get_shop(request: Request) -> Shop:
    shop: Shop = request.app.state.shop
    return shop


ShopDep = Annotated[Shop, Depends(get_shop)]


async def get_db(shop: ShopDep) -> AsyncIterator[Session]:
    with Session(shop.engine) as session:
        yield session


Db = Annotated[Session, Depends(get_db)]


# -- healthy endpoints ---------------------------------------------------------


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


# Declared before /products/{product_id}, which would otherwise match it.
@router.get("/products/compare")
async def compare_products(first: int, second: int, db: Db) -> dict[str, Any]:
    # The same query twice, once per product: two lookups by primary key,
    # not a loop, and nothing a batch would save.
    a = _product_with_category(db, first)
    b = _product_with_category(db, second)
    return {
        "products": [_product_card(a), _product_card(b)],
        "price_difference_cents": a.price_cents - b.price_cents,
    }


@router.get("/products/{product_id}")
async def product_detail(product_id: int, db: Db) -> dict[str, Any]:
    product = _product_with_category(db, product_id)
    return _product_card(product)


@router.get("/cart/summary")
async def cart_summary(
    product_id: Annotated[list[int], Query(max_length=50)], db: Db
) -> dict[str, Any]:
    # One query for the whole cart: WHERE products.id IN (?, ?, ...).
    products = db.scalars(select(Product).where(Product.id.in_(product_id))).all()
    return {
        "lines": len(products),
        "total_cents": sum(p.price_cents for p in products),
        "weight_grams": sum(p.weight_grams for p in products),
    }


class OrderLine(BaseModel):
    product_id: int
    quantity: int = Field(ge=1, le=20)


class NewOrder(BaseModel):
    customer_id: int
    items: list[OrderLine] = Field(min_length=1, max_length=20)


@router.post("/orders", status_code=201)
async def place_order(new: NewOrder, db: Db, shop: ShopDep) -> dict[str, Any]:
    ids = {line.product_id for line in new.items}
    prices = dict(
        db.execute(select(Product.id, Product.price_cents).where(Product.id.in_(ids)))
        .tuples()
        .all()
    )
    if len(prices) != len(ids):
        raise HTTPException(404, "unknown product")
    total = sum(prices[line.product_id] * line.quantity for line in new.items)

    if shop.variant == "after":
        # Release 1.1.0 adds a loyalty discount: one more query per order, and a
        # KeyError (a 500) for every platinum customer. This is the regression.
        customer = db.get(Customer, new.customer_id)
        if customer is None:
            raise HTTPException(404, "unknown customer")
        total -= total * LOYALTY_DISCOUNT[customer.tier] // 100

    order = Order(
        customer_id=new.customer_id,
        status="paid",
        total_cents=total,
        created_at=datetime.now(),
    )
    db.add(order)
    db.flush()
    order_id = order.id
    # All lines in one executemany: the ORM would insert them one by one to
    # read back each new id, which this endpoint does not need.
    db.execute(
        insert(OrderItem),
        [
            {
                "order_id": order_id,
                "product_id": line.product_id,
                "quantity": line.quantity,
                "unit_price_cents": prices[line.product_id],
            }
            for line in new.items
        ],
    )
    db.commit()
    return {"id": order_id, "total_cents": total}


# -- seeded problems -----------------------------------------------------------


@router.get("/orders/recent")
async def recent_orders(db: Db, shop: ShopDep, limit: int = 30) -> list[dict[str, Any]]:
    query = select(Order).order_by(Order.created_at.desc()).limit(limit)
    if shop.variant == "after":
        # Fix: load the items of all the orders in one more query (IN ...).
        query = query.options(selectinload(Order.items))
    # Before: order.items is a lazy load, one SELECT per order: 1 + limit queries.
    orders = db.scalars(query).all()
    return [
        {
            "id": order.id,
            "status": order.status,
            "created_at": order.created_at,
            "lines": len(order.items),
            "units": sum(item.quantity for item in order.items),
            "total_cents": order.total_cents,
        }
        for order in orders
    ]


@router.get("/products/{product_id}/sales")
async def product_sales(product_id: int, db: Db) -> dict[str, Any]:
    # The same code in both variants. order_items.product_id has no index
    # before migration 0002, so this filter scans the whole big table.
    orders, units = db.execute(
        select(
            func.count(OrderItem.id), func.coalesce(func.sum(OrderItem.quantity), 0)
        ).where(OrderItem.product_id == product_id)
    ).one()
    return {"product_id": product_id, "orders": orders, "units": units}


@router.get("/products/{product_id}/price")
async def product_price(product_id: int, db: Db, shop: ShopDep) -> dict[str, Any]:
    product = db.get(Product, product_id)
    if product is None:
        raise HTTPException(404, "unknown product")
    if shop.variant == "before":
        # Problem: every request waits 100-400 ms for the supplier.
        price = await shop.supplier.price(product.sku)
    else:
        # Fix: supplier prices change rarely; keep them for ten minutes.
        price = await shop.price_cache.get(product.sku, shop.supplier.price)
    if price is None:
        return {
            "sku": product.sku,
            "price_cents": product.price_cents,
            "source": "list",
        }
    return {"sku": product.sku, "price_cents": price, "source": "supplier"}


@router.get("/orders/{order_id}/availability")
async def order_availability(order_id: int, db: Db, shop: ShopDep) -> dict[str, Any]:
    lines = db.execute(
        select(OrderItem.id, OrderItem.quantity, Product.sku)
        .join(Product, Product.id == OrderItem.product_id)
        .where(OrderItem.order_id == order_id)
        .order_by(OrderItem.id)
    ).all()
    if not lines:
        raise HTTPException(404, "unknown order")
    skus = [line.sku for line in lines]
    if shop.variant == "before":
        # Problem: one supplier call per item, one after the other.
        one_by_one: dict[str, int | None] = {}
        for sku in skus:
            one_by_one[sku] = await shop.supplier.stock(sku)
        levels: Mapping[str, int | None] = one_by_one
    else:
        # Fix: one batched call for the whole order.
        levels = await shop.supplier.stock_many(skus) or {}
    return {
        "order_id": order_id,
        "lines": [
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "available": levels.get(line.sku),
            }
            for line in lines
        ],
    }


@router.get("/catalog/export", response_model=None)
async def catalog_export(db: Db, shop: ShopDep) -> list[dict[str, Any]] | Response:
    rows = db.execute(
        select(
            Product.id,
            Product.sku,
            Product.name,
            Product.description,
            Product.price_cents,
            Product.weight_grams,
            Product.tags,
            Product.created_at,
            Category.id.label("category_id"),
            Category.name.label("category_name"),
            Category.slug.label("category_slug"),
        )
        .join(Category, Category.id == Product.category_id)
        .order_by(Product.id)
    ).all()
    if shop.variant == "before":
        # Problem: thousands of nested dicts with Decimal and datetime values go
        # through FastAPI's jsonable_encoder, a recursive walk in pure Python.
        return [_export_entry(row, Decimal(row.price_cents) / 100) for row in rows]
    # Fix: orjson encodes plain values in C; prices are sent as floats.
    entries = [_export_entry(row, row.price_cents / 100) for row in rows]
    return Response(orjson.dumps(entries), media_type="application/json")


# -- helpers -------------------------------------------------------------------


def _product_with_category(db: Session, product_id: int) -> Product:
    product = db.scalars(
        select(Product)
        .options(joinedload(Product.category))
        .where(Product.id == product_id)
    ).first()
    if product is None:
        raise HTTPException(404, "unknown product")
    return product


def _product_card(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "sku": product.sku,
        "name": product.name,
        "price_cents": product.price_cents,
        "category": product.category.name,
    }


def _export_entry(row: Any, price: Decimal | float) -> dict[str, Any]:
    return {
        "id": row.id,
        "sku": row.sku,
        "name": row.name,
        "description": row.description,
        "price": {"amount": price, "currency": "EUR"},
        "shipping": {
            "weight_grams": row.weight_grams,
            "bulky": row.weight_grams > 10_000,
        },
        "tags": row.tags.split(","),
        "category": {
            "id": row.category_id,
            "name": row.category_name,
            "slug": row.category_slug,
        },
        "created_at": row.created_at,
        "links": {"self": f"/products/{row.id}", "price": f"/products/{row.id}/price"},
    }
