"""Text every stage shares: sanitising fetched HTML, plain text, cleaning summaries and reading dates."""
