"""Moved to ``mlsmith.backends.local.egress`` (one egress guard for webhooks and data sources)."""

from mlsmith.backends.local.egress import EgressRefused, IpAddress, allowed, check_host, pin

__all__ = ["EgressRefused", "IpAddress", "allowed", "check_host", "pin"]
