"""Local computes: ``thread`` (a pool in this process) and ``process`` (one child per task).

Entry points ``mlsmith.backends.local.compute:build_thread`` / ``:build_process``.
"""

from mlsmith.backends.local.compute.builders import build_process, build_thread
from mlsmith.backends.local.compute.lazy_backends import LazyBackends
from mlsmith.backends.local.compute.process import ProcessCompute
from mlsmith.backends.local.compute.thread import ThreadCompute

__all__ = ["LazyBackends", "ProcessCompute", "ThreadCompute", "build_process", "build_thread"]
