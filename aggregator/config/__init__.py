"""Configuration files: sources.yaml, taxonomy.yaml and OPML, read and checked at the boundary."""
