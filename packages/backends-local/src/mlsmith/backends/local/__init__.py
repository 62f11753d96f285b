"""mlsmith local backends: SQLite/PostgreSQL via SQLAlchemy, fsspec files, Fernet, pools."""
