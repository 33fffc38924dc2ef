"""The publish stage: the combined and per-label feeds, and the archive of sent issues."""
