"""deploy/kubernetes/: valid against Kubernetes' own schemas (kubernetes-validate bundles them, so
this runs offline), and wired together: probes, security context, secrets, config."""

from __future__ import annotations

import copy
import tomllib
from pathlib import PurePosixPath
from typing import Any

import kubernetes_validate
import pytest

from .conftest import KUBERNETES, kubernetes_resources

UID = 10001
Resources = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def resources() -> Resources:
    return kubernetes_resources()


@pytest.fixture(scope="module")
def container(resources: Resources) -> dict[str, Any]:
    (only,) = resources["Deployment"]["spec"]["template"]["spec"]["containers"]
    return only


def test_the_four_manifests_are_there(resources: Resources) -> None:
    assert set(resources) == {"Deployment", "Service", "Secret", "ConfigMap"}
    assert (KUBERNETES / "example" / "secret.yaml").is_file(), "the example Secret stays out of `kubectl apply -f`"


@pytest.mark.parametrize("kind", ["Deployment", "Service", "Secret", "ConfigMap"])
def test_manifest_is_valid_kubernetes(resources: Resources, kind: str) -> None:
    kubernetes_validate.validate(resources[kind], kubernetes_validate.latest_version(), strict=True)


def test_validator_rejects_a_broken_deployment(resources: Resources) -> None:
    broken = copy.deepcopy(resources["Deployment"])
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kubernetes_validate.latest_version(), strict=True)
    misspelt = copy.deepcopy(resources["Deployment"])
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, kubernetes_validate.latest_version(), strict=True)


def test_two_replicas_with_probes_and_resources(resources: Resources, container: dict[str, Any]) -> None:
    assert resources["Deployment"]["spec"]["replicas"] == 2
    assert container["args"][:2] == ["serve", "--http"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    port = container["args"][container["args"].index("--port") + 1]
    (container_port,) = container["ports"]
    assert str(container_port["containerPort"]) == port
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] == container_port["name"]
    assert set(container["resources"]) == {"requests", "limits"}


def test_runs_as_the_image_user_on_a_read_only_root(resources: Resources, container: dict[str, Any]) -> None:
    pod = resources["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == UID
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]], "a read-only root still needs a writable /tmp"


def test_service_reaches_the_pods(resources: Resources, container: dict[str, Any]) -> None:
    service = resources["Service"]["spec"]
    labels = resources["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= labels.items()
    assert {port["targetPort"] for port in service["ports"]} <= {port["name"] for port in container["ports"]}


def _mounted_files(resources: Resources, container: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Every file the pod sees from a Secret or ConfigMap: path -> (kind, key)."""
    volumes = {volume["name"]: volume for volume in resources["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    files = {}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        for kind, source in (("Secret", volume.get("secret")), ("ConfigMap", volume.get("configMap"))):
            if source is None:
                continue
            document = resources[kind]
            keys = [item["key"] for item in source.get("items", [])] or list(
                document.get("stringData") or document.get("data") or {}
            )
            for item_key in keys:
                files[str(PurePosixPath(mount["mountPath"]) / item_key)] = (kind, item_key)
    return files


def test_every_secret_comes_from_a_mounted_file(resources: Resources, container: dict[str, Any]) -> None:
    files = _mounted_files(resources, container)
    env = {variable["name"]: variable for variable in container["env"]}
    file_settings = {name: variable["value"] for name, variable in env.items() if name.endswith("_FILE")}
    assert set(file_settings) == {"SLACK_BOT_TOKEN_FILE", "SLACK_SIGNING_SECRET_FILE"}
    for name, path in file_settings.items():
        assert files.get(path, ("", ""))[0] == "Secret", f"{name} names {path}, which no Secret mounts"
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DOCKERHUB_OAT"):
        assert name not in env, f"{name} as a plain variable: secrets come in as files"
    secret_keys = set(resources["Secret"]["stringData"])
    referenced = {variable["valueFrom"]["secretKeyRef"]["key"] for variable in env.values() if "valueFrom" in variable}
    assert referenced <= secret_keys


def test_configmap_is_the_toml_config_and_names_mounted_token_files(
    resources: Resources, container: dict[str, Any]
) -> None:
    files = _mounted_files(resources, container)
    env = {variable["name"]: variable.get("value") for variable in container["env"]}
    kind, key = files[env["HUBKEEPER_CONFIG"]]
    assert kind == "ConfigMap"
    config = tomllib.loads(resources["ConfigMap"]["data"][key])
    assert config["instances"], "at least one instance"
    for label, instance in config["instances"].items():
        assert "organization_access_token" not in instance, f"{label}: the token belongs in the Secret"
        assert files.get(instance["organization_access_token_file"], ("", ""))[0] == "Secret", label
