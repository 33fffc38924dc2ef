"""The ingest stage: fetching sources, reading them with their adapters and normalising entries into resources."""
