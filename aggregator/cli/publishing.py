"""Commands of the publishing stage (filled in by the issue that builds it)."""
