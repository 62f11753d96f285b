"""mlsmith command line: a thin Typer adapter over core services."""
