"""Dagster definitions, one module per domain; `pipelines.definitions` assembles them."""
