"""Relational side: SQLAlchemy models of the ISPyB tables and the data access over them."""
