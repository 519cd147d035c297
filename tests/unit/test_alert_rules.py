"""The alert rules (monitoring/alerts.yml) fire on the series that should fire
them and stay silent on healthy ones: promtool's own rule tests
(monitoring/alerts.test.yml), and a check that every alert is tested both ways."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return found


def test_promtool_rule_tests_pass():
    result = subprocess.run(
        [promtool(), "test", "rules", "alerts.test.yml"],
        cwd=MONITORING, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_silent():
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((MONITORING / "alerts.test.yml").read_text())["tests"]
    fired, silent = set(), set()
    for test in tests:
        for case in test.get("alert_rule_test", []):
            (fired if case["exp_alerts"] else silent).add(case["alertname"])
    assert alerts - fired == set(), "alerts never shown firing"
    assert alerts - silent == set(), "alerts never shown silent"


def test_every_alert_says_what_to_do_and_where_to_read():
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]
            assert "docs/operating.md#" in rule["annotations"]["description"], rule["alert"]
