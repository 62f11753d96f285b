"""HTTP schemas (pydantic): what the API accepts and returns. Core entities never leave the server
as they are: each ``*Out`` model picks the fields a client may see (``from_domain``)."""
