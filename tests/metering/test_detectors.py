"""Detectors without I/O: when (statement), then (alerts or increments)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.metering.detection import load_detection
from gateway.metering.detectors import KEY_SEPARATOR, Detectors, window_start
from gateway.metering.usage import StatementUse, TableUse

NOON_CST = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)  # 12:00 at UTC+8
NIGHT_CST = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # 02:00 at UTC+8
LIMITS = {"customer_service": {"rows_per_query": 200, "subjects_per_hour": 500}}
CANARIES = {"public.customers": frozenset({"900001", "900002"})}


def _use(subjects=(), rows=None, decision="rewrite", ts=NOON_CST, **kw) -> StatementUse:
    table = TableUse("public.customers", rows=len(subjects) if rows is None else rows,
                     subjects=subjects, masked_classes=("mobile",), **kw)
    return StatementUse("crm_app", "customer_service", decision, [table], ts=ts)


def _detectors(section=None) -> Detectors:
    return Detectors(load_detection(section), LIMITS, CANARIES)


@pytest.mark.parametrize("use,rules", [
    (_use(["1", "2"]), []),
    (_use(["1", "900002"]), ["canary"]),
    (_use(["1"], canary_hits=1), ["canary"]),
    (_use(["1"], rows=201), ["rows_per_query"]),
    (_use(["1"], rows=5000, ts=NIGHT_CST), ["rows_per_query", "off_hours"]),
    (_use(["1"], rows=150, ts=NIGHT_CST), []),
])
def test_statement_checks(use, rules):
    assert [a.rule for a in _detectors().check(use)] == rules


def test_canary_alert_is_critical_and_names_no_subject():
    (alert,) = _detectors().check(_use(["900001"]))
    assert alert.severity == "critical" and "900001" not in repr(alert)


def test_shadow_and_severity_come_from_config():
    detectors = _detectors({"rows_per_query": {"severity": "critical", "shadow": True}})
    (alert,) = detectors.check(_use(["1"], rows=500))
    assert (alert.severity, alert.shadow) == ("critical", True)


def test_enumeration_fires_on_walking_ids():
    detectors = _detectors({"enumeration": {"lookups": 10, "window": 60}})
    found = [detectors.check(_use([str(1000 + 2 * i)])) for i in range(10)]
    assert all(not f for f in found[:9]) and found[9][0].rule == "enumeration"
    assert detectors.check(_use(["1020"])) == []  # one alert per window, not per lookup


def test_enumeration_ignores_scattered_lookups():
    detectors = _detectors({"enumeration": {"lookups": 10, "window": 60}})
    assert not any(detectors.check(_use([str(i * 977 % 50000)])) for i in range(40))


def test_window_increments():
    detectors = _detectors({"bulk_export": {"rows": 1000, "window": 300}})
    (inc, threshold), = detectors.increments(_use(["1"], rows=10))
    assert (inc.rule, inc.value, threshold) == ("bulk_export", 10, 1000)
    assert inc.start == window_start(NOON_CST, 300) and KEY_SEPARATOR in inc.key
    (inc, threshold), = detectors.increments(_use(decision="deny"))
    assert (inc.rule, threshold) == ("refused_burst", 20)


@pytest.mark.parametrize("section,message", [
    ({"nonsense": {}}, "detection.nonsense: unknown detector"),
    ({"canary": {"colour": 1}}, "detection.canary.colour: unknown key"),
    ({"canary": {"severity": "loud"}}, "detection.canary.severity"),
])
def test_bad_detection_section(section, message):
    with pytest.raises(ValueError, match=message):
        load_detection(section)


def test_disabled_detector_stays_quiet():
    assert _detectors({"canary": {"enabled": False}}).check(_use(["900001"])) == []
