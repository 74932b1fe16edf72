"""The settings class: embedded defaults, secrets refused outside development, broker options."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.core.config import REPO_ROOT, Settings


@pytest.fixture
def no_zopoc_env(monkeypatch):
    import os

    for key in [k for k in os.environ if k.startswith("ZOPOC_")]:
        monkeypatch.delenv(key)


def test_defaults_are_the_embedded_setup(no_zopoc_env):
    settings = Settings(_env_file=None)
    assert settings.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'zopoc.db'}"
    assert settings.broker_url == "filesystem://" and settings.redis_url is None
    assert settings.data_dir == REPO_ROOT / "var" / "data"
    assert settings.max_upload_bytes == 20 * 1024 * 1024
    assert settings.api_prefix == "/api"


def test_environment_variables_override(no_zopoc_env, monkeypatch):
    monkeypatch.setenv("ZOPOC_DATABASE_URL", "postgresql+psycopg://db/zopoc")
    monkeypatch.setenv("ZOPOC_MAX_UPLOAD_MB", "1.5")
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql+psycopg://db/zopoc"
    assert settings.max_upload_bytes == int(1.5 * 1024 * 1024)


def test_default_secret_is_refused_outside_development(no_zopoc_env):
    with pytest.raises(ValidationError, match="ZOPOC_SECRET_KEY still has its development default"):
        Settings(_env_file=None, environment="production")
    production = Settings(_env_file=None, environment="production", secret_key="s3cr3t-value")
    assert production.secret_key == "s3cr3t-value"


def test_broker_transport_options(no_zopoc_env, tmp_path):
    embedded = Settings(_env_file=None, broker_dir=tmp_path / "broker")
    options = embedded.broker_transport_options()
    assert options["data_folder_in"] == options["data_folder_out"] == str(tmp_path / "broker" / "out")
    assert (tmp_path / "broker" / "out").is_dir() and (tmp_path / "broker" / "processed").is_dir()
    redis = Settings(_env_file=None, broker_url="redis://127.0.0.1:6379/0", redis_prefix="x:")
    assert redis.broker_transport_options() == {"global_keyprefix": "x:"}
