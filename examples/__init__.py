"""Runnable examples that exercise perfkit on real instrumented services."""
