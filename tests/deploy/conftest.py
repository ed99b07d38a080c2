"""Paths and loaders shared by the deployment tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document]


def kubernetes_resources() -> dict[str, dict[str, Any]]:
    """Every manifest under deploy/kubernetes/ (the example Secret included), by kind."""
    resources: dict[str, dict[str, Any]] = {}
    for path in sorted(KUBERNETES.rglob("*.yaml")):
        for document in yaml_documents(path):
            assert document["kind"] not in resources, f"two {document['kind']}s"
            resources[document["kind"]] = document
    return resources
