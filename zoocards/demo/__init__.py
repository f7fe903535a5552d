"""A self-contained demo model whose accuracy claim can be re-run anywhere (no downloads)."""
