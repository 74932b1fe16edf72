"""docker-compose.yml is valid (``docker-compose config``, no engine needed) and deploys what it promises."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    shutil.which("docker-compose") is None,
    reason="the docker-compose binary is not installed here (CI installs it)",
)
def test_compose_file_validates_and_has_the_deployment():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOPOC_", "POSTGRES_"))}
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"postgres", "redis", "api", "worker-cpu"} <= set(services)
    assert all("healthcheck" in spec for spec in services.values())
    assert "backend.prestart" in " ".join(services["api"]["command"]), "the API migrates before it serves"
    gpu_workers = [name for name in services if name.startswith("worker-gpu")]
    assert gpu_workers
    for name in gpu_workers:
        devices = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
        assert "-Q gpu" in " ".join(services[name]["command"])
    assert "-Q cpu" in " ".join(services["worker-cpu"]["command"])
    assert services["worker-cpu"]["environment"]["ZOPOC_BROKER_URL"].startswith("redis://")
