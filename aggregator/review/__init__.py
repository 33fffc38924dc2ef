"""The review stage: resource and issue status lifecycles, and the read-only views editors look at."""
