"""Dispatcher: re-checks published next-best-actions at send time and records them in its own outbox."""

from dispatcher.adapters import ChannelAdapter, DryRunAdapter, SendRequest, SendResult
from dispatcher.dispatch import DispatchSummary, dispatch, open_warehouse

__all__ = ["ChannelAdapter", "DispatchSummary", "DryRunAdapter", "SendRequest", "SendResult", "dispatch",
           "open_warehouse"]
