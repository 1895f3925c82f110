"""Dagster definitions, one module per domain; `pre_eval.definitions` assembles them."""
