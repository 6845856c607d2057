"""Cross-store services: what joins both stores or several domains, one module per capability (same stem as its
router)."""
