"""Persistence: SQLAlchemy 2 Core tables, repositories mapping rows to domain objects, the unit of work, Alembic."""
