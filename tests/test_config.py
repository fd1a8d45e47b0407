"""gateway.config: defaults, the file, PGW_* variables and overrides, checked."""

from __future__ import annotations

import pytest

from gateway import config


@pytest.mark.parametrize("value", [0, -1, 0.001, 61, "soon", True, None, float("nan")])
def test_an_audit_flush_interval_out_of_range_is_refused(value: object) -> None:
    with pytest.raises(config.ConfigError, match="audit_flush_interval"):
        config.load(None, overrides={"audit_flush_interval": value}, environ={})


def test_the_audit_flush_interval_comes_from_the_file_or_the_environment(tmp_path) -> None:
    assert config.load(None, environ={}).audit_flush_interval == 0.2
    path = tmp_path / "gateway.yaml"
    path.write_text("audit_flush_interval: 1\n")
    assert config.load(path, environ={}).audit_flush_interval == 1
    environ = {"PGW_AUDIT_FLUSH_INTERVAL": "0.05"}
    assert config.load(path, environ=environ).audit_flush_interval == 0.05
