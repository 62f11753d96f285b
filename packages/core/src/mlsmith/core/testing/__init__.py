"""Test support shipped with core: in-memory fakes of every port and the contract suites.

Adapter packages import the contract classes and subclass them with a factory fixture.
Importing this package needs pytest (the ``mlsmith-core[testing]`` extra).
"""
