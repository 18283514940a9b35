"""Reading results back: summaries, tables, comparisons."""
