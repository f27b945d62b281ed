"""Channel adapters: how an outbox item leaves recobro. Real SMTP/HTTP/dialer adapters implement the same protocol."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from recobro.contract import CHANNELS


@dataclass(frozen=True)
class SendRequest:
    """One message to send. `contact_point` is filled only for live sends, never stored."""

    action_key: str
    account_id: str
    customer_id: str
    action: str
    channel: str
    template_id: str | None
    planned_at: dt.datetime
    offer_terms: str | None = None
    contact_point: str | None = None


@dataclass(frozen=True)
class SendResult:
    ok: bool
    provider_id: str | None = None
    error: str | None = None


@runtime_checkable
class ChannelAdapter(Protocol):
    """Sends one request through one channel; must be idempotent on `request.action_key`."""

    channels: tuple[str, ...]
    needs_contact_point: bool

    def send(self, request: SendRequest) -> SendResult: ...


@dataclass
class DryRunAdapter:
    """Records what would be sent; sends nothing and needs no phone or email."""

    channels: tuple[str, ...] = CHANNELS
    needs_contact_point: bool = False
    sent: list[SendRequest] = field(default_factory=list)

    def send(self, request: SendRequest) -> SendResult:
        self.sent.append(request)
        return SendResult(ok=True, provider_id=f"dry-run:{request.action_key}")
