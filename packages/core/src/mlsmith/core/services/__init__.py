"""Use cases. Each is a function taking ``Backends`` (and a ``Scope``); all authorization lives here."""
