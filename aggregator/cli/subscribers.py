"""Commands of the subscribers stage (filled in by the issue that builds it)."""
