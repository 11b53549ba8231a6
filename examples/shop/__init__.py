"""A small web shop with known performance problems, and the recorder of its traces.

The shop is a FastAPI app over SQLAlchemy and SQLite, instrumented with the
OpenTelemetry SDK and the contrib instrumentations for FastAPI, SQLAlchemy and
httpx. It calls a supplier service that plays an external dependency. Each
seeded problem sits on its own endpoint, and the ``after`` variant fixes them
all and breaks one healthy endpoint, so that perfkit's compare gate has a real
regression to catch. ``python -m examples.shop record`` records both variants
into ``sample_traces/``; :mod:`examples.shop.answer_key` says what is where.
"""
