"""mlsmith HTTP server (FastAPI adapter over core services): delivered by the server issue."""
