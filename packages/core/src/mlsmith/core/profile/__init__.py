"""Exploratory profile of a table: JSON-ready statistics (``stats``) and a self-contained HTML page
(``html``). Pure pandas/numpy; the service that stores and serves it is ``services.profiling``."""

from mlsmith.core.profile.html import render_html
from mlsmith.core.profile.stats import profile_frame

__all__ = ["profile_frame", "render_html"]
