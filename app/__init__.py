"""The FastAPI service, its settings, auth and command line."""
