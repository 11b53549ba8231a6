"""``python -m examples.shop``: seed, serve, drive and record the demo shop.

Run from the repository root::

    python -m examples.shop record --out sample_traces
    python -m examples.shop key --out sample_traces
    python -m examples.shop seed --variant before --db examples/shop/shop-before.db
    python -m examples.shop supplier --port 8001
    python -m examples.shop serve --variant before --port 8000
    python -m examples.shop drive --url http://127.0.0.1:8000 --requests 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from examples.shop.seed import DEFAULT_ROWS, DEFAULT_SEED, VARIANTS


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    # A line per request or per migration step would drown the progress lines.
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    result: int = args.run(args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.shop",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    record = commands.add_parser("record", help="record every variant from scratch")
    record.add_argument(
        "--out", type=Path, default=Path("sample_traces"), help="output folder"
    )
    record.add_argument(
        "--variant", action="append", choices=VARIANTS, help="default: both"
    )
    record.add_argument(
        "--requests", type=int, default=5_000, help="requests per variant"
    )
    record.add_argument(
        "--concurrency", type=int, default=16, help="most requests in flight"
    )
    record.add_argument(
        "--rate", type=float, default=40.0, help="requests per second; 0: no pacing"
    )
    record.add_argument(
        "--rows", type=int, default=DEFAULT_ROWS, help="about this many order items"
    )
    record.add_argument("--seed", type=int, default=DEFAULT_SEED)
    record.add_argument(
        "--profile-rate", type=float, default=0.1, help="share of requests profiled"
    )
    record.add_argument(
        "--db-dir", type=Path, default=Path("examples/shop"), help="for the databases"
    )
    record.add_argument(
        "--max-seconds", type=float, default=900.0, help="give up on a variant after"
    )
    record.set_defaults(run=_record)

    key = commands.add_parser(
        "key", help="rewrite answer_key.json from the code, keeping its runs"
    )
    key.add_argument("--out", type=Path, default=Path("sample_traces"))
    key.set_defaults(run=_key)

    seed = commands.add_parser("seed", help="build the SQLite database of a variant")
    seed.add_argument("--variant", choices=VARIANTS, required=True)
    seed.add_argument("--db", type=Path, required=True)
    seed.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    seed.add_argument("--seed", type=int, default=DEFAULT_SEED)
    seed.set_defaults(run=_seed)

    serve = commands.add_parser("serve", help="serve the shop on 127.0.0.1")
    serve.add_argument("--variant", choices=VARIANTS, default="before")
    serve.add_argument("--db", type=Path)
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--supplier-url", default="http://127.0.0.1:8001")
    serve.add_argument("--traces", type=Path, help="OTLP JSON Lines file to append to")
    serve.add_argument("--profiles", type=Path, help="directory for .pyisession files")
    serve.add_argument("--profile-rate", type=float, default=0.1)
    serve.set_defaults(run=_serve)

    supplier = commands.add_parser("supplier", help="serve the supplier on 127.0.0.1")
    supplier.add_argument("--port", type=int, default=8001)
    supplier.set_defaults(run=_supplier)

    drive = commands.add_parser("drive", help="send the request mix to a running shop")
    drive.add_argument("--url", default="http://127.0.0.1:8000")
    drive.add_argument("--db", type=Path, default=Path("examples/shop/shop-before.db"))
    drive.add_argument("--requests", type=int, default=500)
    drive.add_argument("--concurrency", type=int, default=16)
    drive.add_argument("--rate", type=float, default=40.0)
    drive.add_argument("--seed", type=int, default=DEFAULT_SEED)
    drive.add_argument("--max-seconds", type=float, default=600.0)
    drive.set_defaults(run=_drive)
    return parser


def _record(args: argparse.Namespace) -> int:
    from examples.shop.record import RecordOptions, record

    options = RecordOptions(
        out=args.out,
        variants=tuple(args.variant or VARIANTS),
        requests=args.requests,
        concurrency=args.concurrency,
        rate=args.rate or None,
        rows=args.rows,
        seed=args.seed,
        profile_rate=args.profile_rate,
        db_dir=args.db_dir,
        max_seconds=args.max_seconds,
    )
    key = record(options)
    for variant, run in key["runs"].items():
        print(
            f"{variant}: {run['load']['requests']} requests in "
            f"{run['load']['seconds']} s, {run['spans']} spans, "
            f"{run['profiles']} profiles, {run['bytes'] / 1e6:.1f} MB"
        )
    return 0


def _key(args: argparse.Namespace) -> int:
    from examples.shop.record import write_key

    write_key(args.out)
    print(f"wrote {args.out / 'answer_key.json'}")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from examples.shop.seed import seed_database

    summary = seed_database(args.db, args.variant, rows=args.rows, seed=args.seed)
    print(json.dumps(summary.to_dict(), indent=2))
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    db = args.db or Path(f"examples/shop/shop-{args.variant}.db")
    if not db.exists():
        print(f"no database at {db}; build it with: python -m examples.shop seed "
              f"--variant {args.variant} --db {db}", file=sys.stderr)  # fmt: skip
        return 2
    os.environ.update(
        SHOP_VARIANT=args.variant,
        SHOP_DB=str(db),
        SHOP_SUPPLIER_URL=args.supplier_url,
        SHOP_TRACES=str(args.traces or ""),
        SHOP_PROFILES=str(args.profiles or ""),
        SHOP_PROFILE_RATE=str(args.profile_rate),
    )
    uvicorn.run(
        "examples.shop.app:create_app", factory=True, host="127.0.0.1", port=args.port
    )
    return 0


def _supplier(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "examples.shop.supplier:create_supplier_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
    )
    return 0


def _drive(args: argparse.Namespace) -> int:
    from sqlalchemy import create_engine, func, select

    from examples.shop.driver import Sizes, plan_requests, run_load
    from examples.shop.models import Customer, Order, Product

    # The driver picks ids that exist: it reads the table sizes from the database.
    engine = create_engine(f"sqlite:///{args.db}")
    with engine.connect() as connection:
        counts = [
            connection.scalar(select(func.count()).select_from(model)) or 0
            for model in (Product, Customer, Order)
        ]
    engine.dispose()
    plan = plan_requests(args.requests, Sizes(*counts), seed=args.seed)
    summary = asyncio.run(
        run_load(
            args.url,
            plan,
            concurrency=args.concurrency,
            rate=args.rate or None,
            max_seconds=args.max_seconds,
        )
    )
    print(json.dumps(summary.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
