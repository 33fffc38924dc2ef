"""Commands of the delivery stage (filled in by the issue that builds it)."""
