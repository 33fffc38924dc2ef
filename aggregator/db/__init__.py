"""Database access: schema, engine setup and migrations, and the store used by the pipeline."""
