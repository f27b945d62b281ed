"""Calibration: the default scenario lands inside the published magnitudes of DOMAIN.md §4."""

from __future__ import annotations

import pytest

from simulator.calibration import BANDS, calibration_report, render_calibration


@pytest.fixture(scope="module")
def report():
    return calibration_report(20_000, 150, seed=0)  # the documented size: ~2.4k test promises


def test_default_scenario_lands_inside_every_published_band(report):
    for name, m in report["metrics"].items():
        assert m["low"] <= m["value"] <= m["high"], (name, m)
    assert report["ok"] and set(report["metrics"]) == set(BANDS)


def test_promise_model_is_realistic_and_below_the_bayes_auc(report):
    auc = report["metrics"]["promise_model_auc"]["value"]
    assert 0.70 <= auc <= 0.85
    assert report["bayes_auc"] > auc  # the truth knows reasons and capacity; the model does not
    assert report["promises"]["test"] > 500


def test_sms_reminder_lifts_on_time_payment_on_the_same_luck(report):
    s = report["sms"]
    assert s["sms_sent"] > 1000
    assert s["cure_rate_sms"] > s["cure_rate_no_contact"]
    assert s["paid_rate_sms"] > s["paid_rate_no_contact"]


def test_rendering_is_a_markdown_table(report):
    text = render_calibration(report)
    assert text.startswith("# Simulator calibration") and "| promise_model_auc |" in text and "Bayes AUC" in text
