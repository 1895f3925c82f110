"""Small helpers for materialization metadata shown in the Dagster UI."""

import polars as pl

PREVIEW_ROWS = 30  # a run over hundreds of sites repeats its metadata on every partition's event


def markdown_table(frame: pl.DataFrame, limit: int = PREVIEW_ROWS) -> str:
    """A Markdown table of the first `limit` rows of a frame, for `MetadataValue.md` previews."""
    def cell(value) -> str:
        return "" if value is None else str(value).replace("|", "\\|")

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.head(limit).iter_rows()]
    more = [f"\n… et {frame.height - limit} autres lignes (voir les rapports)"] if frame.height > limit else []
    return "\n".join([header, rule, *rows, *more])
