"""Local notifiers: ``log://`` (a structured log line per event) and ``webhook+http(s)://``.

Entry points ``mlsmith.backends.local.notifier:build_log`` / ``:build_webhook``.
"""

from mlsmith.backends.local.notifier.log import LogNotifier, build_log
from mlsmith.backends.local.notifier.webhook import WebhookNotifier, build_webhook

__all__ = ["LogNotifier", "WebhookNotifier", "build_log", "build_webhook"]
