"""Commands of the web stage (filled in by the issue that builds it)."""
