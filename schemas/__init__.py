"""Pydantic models at the API edge (ISPyB camelCase names, py-ispyb shapes) and JSON Schemas of result kinds."""
