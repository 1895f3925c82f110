"""Small helpers for materialization metadata shown in the Dagster UI."""

import polars as pl


def markdown_table(frame: pl.DataFrame) -> str:
    """A Markdown table of a (small) frame, for `MetadataValue.md` previews."""
    def cell(value) -> str:
        return "" if value is None else str(value).replace("|", "\\|")

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([header, rule, *rows])
