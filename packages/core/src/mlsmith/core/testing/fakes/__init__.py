"""In-memory fakes of every port (for core unit tests; each passes its port contract)."""
