"""Contract suites, one module per port; disabled by ``__test__ = False`` until subclassed."""
