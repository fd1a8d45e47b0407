"""Kubernetes manifests: parse, hang together, and match the gateway's own configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway import config
from gateway.config import split_address
from gateway.policy.rules import load_rules
from tests.deploy.support import DEPLOY

FOLDER = DEPLOY / "k8s"
NAMESPACE = "privacy-gateway"
# kind -> (apiVersion, fields its spec must have); a small schema of what we use.
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Namespace": ("v1", ()),
    "ConfigMap": ("v1", ()),
    "Secret": ("v1", ()),
    "Deployment": ("apps/v1", ("replicas", "selector", "template", "strategy")),
    "Service": ("v1", ("selector", "ports")),
    "PodDisruptionBudget": ("policy/v1", ("selector",)),
    "NetworkPolicy": ("networking.k8s.io/v1", ("podSelector", "ingress")),
}


def _load() -> dict[tuple[str, str], dict[str, Any]]:
    docs = {}
    for file in sorted(FOLDER.glob("*.yaml")):
        if file.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(file.read_text(encoding="utf-8")):
            docs[(doc["kind"], doc["metadata"]["name"])] = doc
    return docs


DOCS = _load()


def _one(kind: str) -> dict[str, Any]:
    found = [doc for (k, _), doc in DOCS.items() if k == kind]
    assert len(found) == 1, kind
    return found[0]


def _container() -> dict[str, Any]:
    return _one("Deployment")["spec"]["template"]["spec"]["containers"][0]


def _config_map(name: str) -> dict[str, str]:
    return DOCS[("ConfigMap", name)]["data"]


def _gateway_yaml(tmp_path: Path) -> config.Config:
    file = tmp_path / "gateway.yaml"
    file.write_text(_config_map("privacy-gateway-config")["gateway.yaml"], encoding="utf-8")
    return config.load(file, environ={})


def test_every_manifest_has_a_known_kind_and_shape() -> None:
    for (kind, name), doc in DOCS.items():
        api_version, spec_fields = KINDS[kind]
        assert doc["apiVersion"] == api_version, (kind, name)
        if kind != "Namespace":
            assert doc["metadata"]["namespace"] == NAMESPACE, (kind, name)
        for field in spec_fields:
            assert field in doc["spec"], (kind, name, field)


def test_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((FOLDER / "kustomization.yaml").read_text())["resources"]
    present = sorted(f.name for f in FOLDER.glob("*.yaml") if f.name != "kustomization.yaml")
    assert sorted(listed) == present


def test_deployment_runs_replicas_hardened_and_rolls_without_loss() -> None:
    spec = _one("Deployment")["spec"]
    assert spec["replicas"] >= 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod_labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0 and not pod["automountServiceAccountToken"]
    security = _container()["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"]
    assert security["capabilities"]["drop"] == ["ALL"]
    assert pod["terminationGracePeriodSeconds"] > 30


def test_probes_use_readyz_and_healthz_on_the_admin_port(tmp_path: Path) -> None:
    container = _container()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe"):
        assert ports[container[probe]["httpGet"]["port"]] == split_address(
            _gateway_yaml(tmp_path).admin)[1]
    assert ports["postgres"] == split_address(_gateway_yaml(tmp_path).listen)[1]


@pytest.mark.parametrize("kind", ["Service", "PodDisruptionBudget", "NetworkPolicy"])
def test_selectors_find_the_pods(kind: str) -> None:
    doc = _one(kind)
    selector = doc["spec"].get("podSelector") or doc["spec"]["selector"]
    selector = selector.get("matchLabels", selector)
    pod_labels = _one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selector and selector.items() <= pod_labels.items()


def test_service_and_budget_fit_the_deployment() -> None:
    names = {p["name"] for p in _container()["ports"]}
    assert {p["targetPort"] for p in _one("Service")["spec"]["ports"]} <= names
    assert _one("PodDisruptionBudget")["spec"]["minAvailable"] < _one(
        "Deployment")["spec"]["replicas"]


def test_gateway_yaml_is_a_valid_configuration_on_the_mounted_paths(tmp_path: Path) -> None:
    cfg = _gateway_yaml(tmp_path)
    mounts = {m["name"]: m["mountPath"] for m in _container()["volumeMounts"]}
    volumes = {v["name"]: v for v in _one("Deployment")["spec"]["template"]["spec"]["volumes"]}
    rules_mount = mounts["rules"]
    assert cfg.rules.startswith(rules_mount + "/")
    rules_map = volumes["rules"]["configMap"]["name"]
    assert cfg.rules.removeprefix(rules_mount + "/") in _config_map(rules_map)
    assert cfg.audit_spool.startswith(mounts["spool"] + "/")  # writable: an emptyDir
    assert "emptyDir" in volumes["spool"]


def test_every_secret_the_configuration_names_is_in_the_secret(tmp_path: Path) -> None:
    cfg = _gateway_yaml(tmp_path)
    wanted = {cfg.upstream_password_env, cfg.admin_token_env, *cfg.keys.values()}
    secret_name = _container()["envFrom"][0]["secretRef"]["name"]
    assert wanted <= set(DOCS[("Secret", secret_name)]["stringData"])


def test_rules_config_map_is_a_valid_rules_file(tmp_path: Path) -> None:
    for name, text in _config_map("privacy-gateway-rules").items():
        file = tmp_path / name
        file.write_text(text, encoding="utf-8")
        assert load_rules(file).principals
