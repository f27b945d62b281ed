"""Decisioning: segments, contact policy (rule packs) and next-best-actions. See `decide`."""

from decisioning.decide import DecideSummary, decide
from decisioning.rule_packs import RulePack, RulePackError, effective_policy, load_rule_pack, load_rule_packs

__all__ = ["DecideSummary", "RulePack", "RulePackError", "decide", "effective_policy", "load_rule_pack",
           "load_rule_packs"]
