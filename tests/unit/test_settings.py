"""Settings: read once from the environment, loudly refusing what they do not understand."""

from __future__ import annotations

import stat

import pytest

from config import SettingsError, load_settings


def _load(tmp_path, **environ: str):
    return load_settings(environ=environ, instance_path=tmp_path, secret_key="k" * 40)


def test_defaults_load_from_an_empty_environment(tmp_path):
    settings = _load(tmp_path)
    assert settings.secure_cookies is False
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'continuum.sqlite3'}"


@pytest.mark.parametrize("name", ["CONTINUUM_SECURE_COOKIE", "CONTINUUM_LOCKOUT", "CONTINUUM_"])
def test_unknown_continuum_variable_is_refused(tmp_path, name):
    with pytest.raises(SettingsError, match=name):
        _load(tmp_path, **{name: "1"})


def test_variables_without_the_prefix_are_ignored(tmp_path):
    assert _load(tmp_path, HOME="/root", SECURE_COOKIES="nonsense").secure_cookies is False


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("CONTINUUM_LOCKOUT_THRESHOLD", "five"),
        ("CONTINUUM_LOCKOUT_THRESHOLD", ""),
        ("CONTINUUM_SESSION_IDLE_MINUTES", "1.5"),
        ("CONTINUUM_SECURE_COOKIES", "maybe"),
        ("CONTINUUM_SECURE_COOKIES", ""),
        ("CONTINUUM_TESTING", "2"),
    ],
)
def test_malformed_value_is_refused(tmp_path, name, raw):
    with pytest.raises(SettingsError, match=name):
        _load(tmp_path, **{name: raw})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("NO", False),
        ("off", False),
    ],
)
def test_boolean_spellings_are_understood(tmp_path, raw, expected):
    assert _load(tmp_path, CONTINUUM_SECURE_COOKIES=raw).secure_cookies is expected


def test_integer_is_read(tmp_path):
    assert _load(tmp_path, CONTINUUM_LOCKOUT_THRESHOLD="7").lockout_threshold == 7


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_database_url_uses_psycopg_3(tmp_path, scheme):
    settings = _load(tmp_path, DATABASE_URL=f"{scheme}://app@db/continuum")
    assert settings.database_url == "postgresql+psycopg://app@db/continuum"
    assert settings.is_postgres


def test_migration_url_uses_psycopg_3(tmp_path):
    settings = _load(tmp_path, CONTINUUM_MIGRATION_DATABASE_URL="postgresql://owner@db/continuum")
    assert settings.migration_database_url == "postgresql+psycopg://owner@db/continuum"


def test_explicit_driver_is_left_alone(tmp_path):
    url = "postgresql+psycopg://app@db/continuum"
    assert _load(tmp_path, DATABASE_URL=url).database_url == url


def test_continuum_database_url_wins_over_database_url(tmp_path):
    settings = _load(
        tmp_path,
        DATABASE_URL="postgresql://other@db/x",
        CONTINUUM_DATABASE_URL="postgresql://app@db/continuum",
    )
    assert settings.database_url == "postgresql+psycopg://app@db/continuum"


def test_generated_secret_key_is_private_and_reused(tmp_path):
    instance = tmp_path / "instance"
    first = load_settings(environ={}, instance_path=instance)
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 32
    assert load_settings(environ={}, instance_path=instance).secret_key == first.secret_key


def test_generated_secret_key_differs_between_instances(tmp_path):
    one = load_settings(environ={}, instance_path=tmp_path / "one").secret_key
    two = load_settings(environ={}, instance_path=tmp_path / "two").secret_key
    assert one != two


def test_settings_are_frozen(tmp_path):
    settings = _load(tmp_path)
    with pytest.raises(AttributeError):
        settings.secure_cookies = True  # type: ignore[misc]
