"""compose.yaml and the Dockerfile agree with the Makefile, the settings and the URLs.

No container engine runs here, so the images are never built (docs/deployment.md): these
tests read the files instead. A command of the image is the Makefile's (`make serve`,
`make worker`, the migration of `make run`) with `$(PY)` as the image's `python`; every
variable the image is given is one the settings (or gunicorn's configuration) read; the
healthchecks ask what the URL configuration serves.
"""

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
STOREFRONT_SERVICES = ("migrate", "app", "worker")
DOCKERFILE = (ROOT / "Dockerfile").read_text()
# What reads the environment: the settings and gunicorn's configuration.
CONFIGURATION = "\n".join(
    path.read_text()
    for path in [
        *sorted((ROOT / "config" / "settings").glob("*.py")),
        ROOT / "config/gunicorn.conf.py",
    ]
)
# Variables read by Django, Python or the shell rather than by the settings.
RUNTIME_VARIABLES = {
    "PATH",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
    "DJANGO_SETTINGS_MODULE",
}


def makefile_recipe(target: str) -> list[list[str]]:
    """The commands of `target` in the Makefile, split as a shell would, with the virtualenv's
    interpreter and scripts ($(PY), $(VENV)/bin/) as the image has them on its PATH."""
    lines = (ROOT / "Makefile").read_text().replace("\\\n", " ").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    commands = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        command = line.strip().replace("$(PY)", "python").replace("$(VENV)/bin/", "")
        commands.append(shlex.split(command))
    return commands


def dockerfile_instructions(name: str, *, stage: str = DOCKERFILE) -> list[str]:
    """The arguments of every `name` instruction of `stage` (continuation lines joined)."""
    text = stage.replace("\\\n", " ")
    return [
        line.split(None, 1)[1] if " " in line else ""
        for line in text.splitlines()
        if line.split(None, 1)[:1] == [name]
    ]


def dockerfile_env() -> dict[str, str]:
    """The environment the image runs with: the ENV of its last stage."""
    runtime = DOCKERFILE[DOCKERFILE.rindex("\nFROM ") :]
    env = {}
    for instruction in dockerfile_instructions("ENV", stage=runtime):
        for pair in shlex.split(instruction):
            name, _, value = pair.partition("=")
            env[name] = value
    return env


def test_the_app_serves_as_make_serve_does_and_is_the_image_s_command():
    (serve,) = makefile_recipe("serve")
    assert SERVICES["app"]["command"] == serve
    assert json.loads(dockerfile_instructions("CMD")[-1]) == serve


def test_the_worker_runs_what_make_worker_runs_with_beat():
    (worker,) = makefile_recipe("worker")
    assert SERVICES["worker"]["command"] == worker
    assert worker[:6] == ["python", "-m", "celery", "-A", "config", "worker"]
    assert "--beat" in worker


def test_the_migrations_are_applied_as_make_run_applies_them():
    assert SERVICES["migrate"]["command"] in makefile_recipe("run")
    for service in ("app", "worker"):
        condition = SERVICES[service]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"


@pytest.mark.parametrize("service", STOREFRONT_SERVICES)
def test_every_variable_the_image_is_given_is_read_by_the_settings(service):
    given = set(SERVICES[service]["environment"]) | set(dockerfile_env())
    unread = {
        name
        for name in given - RUNTIME_VARIABLES
        if not re.search(rf"[\"']{name}[\"']", CONFIGURATION)
    }
    assert not unread


def test_the_image_has_what_production_settings_require():
    environment = SERVICES["app"]["environment"]
    # config/settings/production.py: required, and NUM_PROXIES set explicitly.
    for name in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "NUM_PROXIES"):
        assert environment.get(name), name
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert "@db:5432/" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"].startswith("redis://redis:6379/")
    assert dockerfile_env()["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_the_app_s_healthcheck_asks_readyz_on_the_port_gunicorn_binds():
    port = dockerfile_env()["GUNICORN_BIND"].rsplit(":", 1)[1]
    healthcheck = " ".join(SERVICES["app"]["healthcheck"]["test"])
    assert f"http://localhost:{port}{reverse('readyz')}" in healthcheck
    # Its Host, localhost, is an allowed host; the published port is the one gunicorn binds.
    assert "localhost" in SERVICES["app"]["environment"]["DJANGO_ALLOWED_HOSTS"].split(",")
    assert [mapping.rsplit(":", 1)[1] for mapping in SERVICES["app"]["ports"]] == [port]


def test_every_long_running_service_has_a_healthcheck_its_dependents_wait_for():
    for name, service in SERVICES.items():
        if name != "migrate":
            assert "healthcheck" in service, name
        for dependency, rule in service.get("depends_on", {}).items():
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], dependency


def test_every_named_volume_is_declared():
    declared = set(COMPOSE["volumes"])
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            assert volume.split(":", 1)[0] in declared, volume


def test_the_image_is_built_in_stages_and_runs_as_an_unprivileged_user():
    stages = dockerfile_instructions("FROM")
    assert len(stages) >= 2
    # The Python of pyproject.toml's requires-python (3.11) in every stage.
    assert all(stage.startswith("python:3.11-") for stage in stages)
    users = dockerfile_instructions("USER")
    assert users and users[-1] not in {"root", "0"}
    assert DOCKERFILE.rindex("USER ") < DOCKERFILE.rindex("CMD ")
