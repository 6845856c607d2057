"""Document side: the MongoDB collections, their indexes and queries (PyMongo's async API)."""
