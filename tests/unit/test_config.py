"""Settings from the environment: defaults, parsing, clear errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from application import config
from application.config import ConfigError, Settings


def test_defaults_work_locally() -> None:
    settings = Settings.from_env({})
    assert settings.database_url.startswith("postgresql://")
    assert settings.attachment_store == "postgres"
    assert settings.all_topics["tickets.events"] == 3
    assert "platform.accounts.dlq" in settings.all_topics


def test_values_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {
            "TICKETING_ATTACHMENT_STORE": "filesystem",
            "TICKETING_DB_POOL_SIZE": "9",
            "TICKETING_LOG_LEVEL": "debug",
        }
    )
    assert (settings.attachment_store, settings.db_pool_size, settings.log_level) == (
        "filesystem",
        9,
        "DEBUG",
    )


@pytest.mark.parametrize(
    "env",
    [
        {"TICKETING_ATTACHMENT_STORE": "s3"},
        {"TICKETING_DB_POOL_SIZE": "many"},
        {"TICKETING_DB_POOL_SIZE": "0"},
    ],
)
def test_bad_values_are_clear_errors(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert next(iter(env)) in str(caught.value)


def test_every_setting_is_read_from_its_variable_and_documented() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for field in dataclasses.fields(Settings):
        name = config._VARIABLES.get(field.name, f"TICKETING_{field.name.upper()}")
        if isinstance(field.default, int):
            assert getattr(Settings.from_env({name: "7"}), field.name) == 7, name
        elif field.name != "attachment_store":  # a choice, tested above
            assert getattr(Settings.from_env({name: "x-y"}), field.name) in ("x-y", "X-Y"), name
        assert f"`{name}`" in readme, f"{name} is not in the README's configuration table"
