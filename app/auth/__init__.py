"""Authentication: our own JWTs, login plugins, and the per-request identity."""
