"""Contact rule packs (DOMAIN.md §5) as validated data, and the strictest-wins combination of packs.

A pack is one YAML file in `settings.rule_packs_dir` (see `decisioning/rules/us.yaml` for the format).
`load_rule_packs` reads and validates every pack; `effective_policy` merges the packs that apply to one
account (customer country and account jurisdiction) so that the strictest value of every rule wins and
each rule remembers which pack it came from (for `work_suppressions.rule_pack`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from recobro.contract import CHANNELS

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CAP_GROUPS = CHANNELS + ("calls", "all_channels")
CALL_CHANNELS = ("voice", "agent_call")
#: hold kinds that stop collection contact (every kind but vulnerability, which routes to trained humans), most
#: binding first: the first one an account has names its suppression; hardship_plan stops contact but keeps
#: its own segment. dispatcher.checks.HARD_HOLDS is the same set, derived from recobro.contract.HOLD_KINDS.
BLOCKING_HOLDS = ("deceased", "bankruptcy", "cease", "attorney", "breathing_space", "dispute", "hardship_plan")
STOP_HOLDS = tuple(kind for kind in BLOCKING_HOLDS if kind != "hardship_plan")
TONES = ("supportive", "friendly", "neutral", "firm")  # increasing intensity
REQUIRED_HOLDS = (
    "dispute", "cease", "bankruptcy", "deceased", "attorney", "breathing_space", "vulnerability",
    "hardship_plan", "paid", "promise_pending", "data_quality",
)
REQUIRED_KEYS = ("pack", "version", "citation", "hours", "contact_on_holidays", "holidays", "caps",
                 "single_channel_per_7d", "call_cooldown_after_conversation_days", "consent_required",
                 "max_tone", "hard_holds")


class RulePackError(ValueError):
    """A rule pack file is missing, malformed, or weaker than the hard rules allow."""


@dataclass(frozen=True)
class RulePack:
    pack: str
    version: str
    citation: str
    hours: dict[int, tuple[dt.time, dt.time] | None]  # weekday 0=Mon -> (start, end) local, None = closed
    contact_on_holidays: bool
    holidays: frozenset[dt.date]
    caps: dict[str, dict[str, int]]  # group -> {"per_day": n, "per_7d": n}
    single_channel_per_7d: bool
    call_cooldown_days: int
    consent_required: frozenset[str]
    max_tone: str
    path: Path = field(compare=False, default=Path("."))


def _fail(path: Path, key: str, problem: str) -> RulePackError:
    return RulePackError(f"rule pack {path}: key '{key}': {problem}")


def _time(path: Path, key: str, value) -> dt.time:
    try:
        hh, mm = str(value).split(":")
        return dt.time(int(hh), int(mm))
    except (ValueError, TypeError):
        raise _fail(path, key, f"expected 'HH:MM', got {value!r}") from None


def _date(path: Path, key: str, value) -> dt.date:
    if isinstance(value, dict):
        value = value.get("date")
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _fail(path, key, f"expected an ISO date, got {value!r}") from None


def load_rule_pack(path: str | Path) -> RulePack:
    """Read and validate one pack file; raises `RulePackError` naming the file and the key."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulePackError(f"rule pack {path}: cannot be read as YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise RulePackError(f"rule pack {path}: top level must be a mapping")
    for key in REQUIRED_KEYS:
        if key not in doc:
            raise _fail(path, key, "missing")

    hours_doc = doc["hours"]
    if not isinstance(hours_doc, dict):
        raise _fail(path, "hours", "must map mon..sun to [start, end] or null")
    hours: dict[int, tuple[dt.time, dt.time] | None] = {}
    for i, day in enumerate(WEEKDAYS):
        if day not in hours_doc:
            raise _fail(path, f"hours.{day}", "missing (use null for no contact)")
        span = hours_doc[day]
        if span is None:
            hours[i] = None
            continue
        if not isinstance(span, list) or len(span) != 2:
            raise _fail(path, f"hours.{day}", f"expected [start, end], got {span!r}")
        start, end = _time(path, f"hours.{day}", span[0]), _time(path, f"hours.{day}", span[1])
        if start >= end:
            raise _fail(path, f"hours.{day}", "start must be before end")
        hours[i] = (start, end)

    if not isinstance(doc["holidays"], list):
        raise _fail(path, "holidays", "must be a list of dates")
    holidays = frozenset(_date(path, f"holidays[{i}]", v) for i, v in enumerate(doc["holidays"]))

    caps: dict[str, dict[str, int]] = {}
    for group, limits in (doc["caps"] or {}).items():
        if group not in CAP_GROUPS:
            raise _fail(path, f"caps.{group}", f"unknown channel group; expected one of {CAP_GROUPS}")
        if not isinstance(limits, dict) or not set(limits) <= {"per_day", "per_7d"}:
            raise _fail(path, f"caps.{group}", "expected a mapping with per_day and/or per_7d")
        for k, n in limits.items():
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise _fail(path, f"caps.{group}.{k}", f"expected a non-negative integer, got {n!r}")
        caps[group] = dict(limits)

    consent = doc["consent_required"] or []
    unknown = set(consent) - set(CHANNELS)
    if unknown:
        raise _fail(path, "consent_required", f"unknown channels {sorted(unknown)}")
    if doc["max_tone"] not in TONES:
        raise _fail(path, "max_tone", f"expected one of {TONES}")
    missing = set(REQUIRED_HOLDS) - set(doc["hard_holds"] or [])
    if missing:
        raise _fail(path, "hard_holds", f"a pack may not drop hard holds: missing {sorted(missing)}")
    cooldown = doc["call_cooldown_after_conversation_days"]
    if not isinstance(cooldown, int) or cooldown < 0:
        raise _fail(path, "call_cooldown_after_conversation_days", "expected a non-negative integer")
    for key in ("contact_on_holidays", "single_channel_per_7d"):
        if not isinstance(doc[key], bool):
            raise _fail(path, key, "expected true or false")

    return RulePack(
        pack=str(doc["pack"]).upper(), version=str(doc["version"]), citation=str(doc["citation"]),
        hours=hours, contact_on_holidays=doc["contact_on_holidays"], holidays=holidays, caps=caps,
        single_channel_per_7d=doc["single_channel_per_7d"], call_cooldown_days=cooldown,
        consent_required=frozenset(consent), max_tone=doc["max_tone"], path=path,
    )


def load_rule_packs(rules_dir: str | Path) -> dict[str, RulePack]:
    """Every `*.yaml` pack in `rules_dir`, keyed by pack code (e.g. 'CO')."""
    rules_dir = Path(rules_dir)
    packs: dict[str, RulePack] = {}
    for path in sorted(rules_dir.glob("*.yaml")):
        pack = load_rule_pack(path)
        if pack.pack in packs:
            raise _fail(path, "pack", f"duplicate pack code {pack.pack} (also in {packs[pack.pack].path})")
        packs[pack.pack] = pack
    if not packs:
        raise RulePackError(f"no rule packs (*.yaml) found in {rules_dir}")
    return packs


@dataclass(frozen=True)
class EffectivePolicy:
    """The strictest merge of the packs that apply to one account; each rule keeps its source pack."""

    key: str  # e.g. 'CO' or 'CO+US'
    version: str  # e.g. '2026.1' or 'CO:2026.1+US:2026.1'
    hours: dict[int, tuple[dt.time, dt.time] | None]
    holidays: frozenset[dt.date]
    caps: dict[str, dict[str, tuple[int, str, str]]]  # group -> limit -> (n, pack, version)
    single_channel_per_7d: tuple[str, str] | None  # (pack, version) when any pack requires it
    call_cooldown: tuple[int, str, str]
    consent_required: dict[str, tuple[str, str]]  # channel -> (pack, version)
    max_tone: str

    def allows(self, local: dt.datetime) -> bool:
        """True when a contact at this local (naive) time is inside the allowed hours and days."""
        if local.date() in self.holidays:
            return False
        span = self.hours[local.weekday()]
        return span is not None and span[0] <= local.time() <= span[1]


def effective_policy(packs: list[RulePack]) -> EffectivePolicy:
    """Merge packs: intersect hours, union holidays and consent needs, take the lowest caps and tone."""
    packs = sorted({p.pack: p for p in packs}.values(), key=lambda p: p.pack)
    if not packs:
        raise ValueError("effective_policy needs at least one pack")
    hours: dict[int, tuple[dt.time, dt.time] | None] = {}
    for d in range(7):
        spans = [p.hours[d] for p in packs]
        if any(s is None for s in spans):
            hours[d] = None
            continue
        start, end = max(s[0] for s in spans), min(s[1] for s in spans)
        hours[d] = (start, end) if start < end else None
    holidays = frozenset().union(*(p.holidays for p in packs if not p.contact_on_holidays))
    caps: dict[str, dict[str, tuple[int, str, str]]] = {}
    consent: dict[str, tuple[str, str]] = {}
    for p in packs:
        for group, limits in p.caps.items():
            for k, n in limits.items():
                cur = caps.setdefault(group, {}).get(k)
                if cur is None or n < cur[0]:
                    caps[group][k] = (n, p.pack, p.version)
        for ch in sorted(p.consent_required):
            consent.setdefault(ch, (p.pack, p.version))
    single = next(((p.pack, p.version) for p in packs if p.single_channel_per_7d), None)
    cooldown = max(((p.call_cooldown_days, p.pack, p.version) for p in packs), key=lambda t: t[0])
    tone = min((p.max_tone for p in packs), key=TONES.index)
    key = "+".join(p.pack for p in packs)
    version = packs[0].version if len(packs) == 1 else "+".join(f"{p.pack}:{p.version}" for p in packs)
    return EffectivePolicy(key, version, hours, holidays, caps, single, cooldown, consent, tone)
