"""The embedded broker (kombu's filesystem transport) never hands a consumer a half-written message."""

from __future__ import annotations

import os
import queue as stdlib_queue
import uuid
from pathlib import Path

import pytest
from kombu import Connection

from backend.broker_fs import TRANSPORT_PATH, Channel
from backend.core.config import Settings
from backend.dispatch import celery_config, producer


@pytest.fixture
def fs_settings(tmp_path: Path) -> Settings:
    return Settings(broker_url="filesystem://", broker_dir=tmp_path / "broker", database_url="sqlite://")


def _queue_name() -> str:
    # kombu keeps declared exchanges per process: a fresh name per test keeps each test's broker folder its own
    return f"runs-{uuid.uuid4().hex[:8]}"


def _connection(settings: Settings) -> Connection:
    config = celery_config(settings)
    return Connection(
        config["broker_url"],
        transport=config["broker_transport"],
        transport_options=config["broker_transport_options"],
    )


def test_filesystem_broker_uses_the_atomic_transport(fs_settings: Settings):
    assert celery_config(fs_settings)["broker_transport"] == TRANSPORT_PATH
    with producer(fs_settings).connection_for_write() as connection:
        assert isinstance(connection.default_channel, Channel)


def test_a_redis_broker_keeps_kombus_own_transport():
    settings = Settings(broker_url="redis://127.0.0.1:6379/0", database_url="sqlite://")
    assert celery_config(settings)["broker_transport"] is None


def test_a_message_goes_through_whole(fs_settings: Settings):
    with _connection(fs_settings) as connection:
        queue = connection.SimpleQueue(_queue_name())
        queue.put({"run_id": "r1", "text": "x" * 10_000})
        message = queue.get(timeout=5)
        assert message.payload == {"run_id": "r1", "text": "x" * 10_000}
        message.ack()
        queue.close()
    folder = fs_settings.broker_dir / "out"
    assert not [name for name in os.listdir(folder) if name.endswith(".partial")], "no partial file is left"


def test_a_message_still_being_written_is_not_consumed(fs_settings: Settings):
    with _connection(fs_settings) as connection:
        name = _queue_name()
        queue = connection.SimpleQueue(name)
        folder = fs_settings.broker_dir / "out"
        # what a writer leaves in the folder between creating its file and renaming it into place
        (folder / f"1_00000000-0000-0000-0000-000000000000.{name}.msg.partial").write_bytes(b"")
        with pytest.raises(stdlib_queue.Empty):
            queue.get(timeout=0.5)
        assert len(os.listdir(folder)) == 1, "the partial file is left for its writer to finish"
        queue.close()


def test_the_queue_folder_shows_no_message_until_its_payload_is_written(
    fs_settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    folder = fs_settings.broker_dir / "out"
    seen_while_writing: list[list[str]] = []
    real_open = open

    def watching_open(path, mode="r", *args, **kwargs):
        file = real_open(path, mode, *args, **kwargs)
        real_write = file.write

        def write(data):
            seen_while_writing.append([n for n in os.listdir(folder) if n.endswith(".msg")])
            return real_write(data)

        file.write = write
        return file

    monkeypatch.setattr("backend.broker_fs.open", watching_open, raising=False)
    with _connection(fs_settings) as connection:
        queue = connection.SimpleQueue(_queue_name())
        queue.put({"run_id": "r2"})
        assert seen_while_writing == [[]], "no consumable file existed while the payload was written"
        assert [n for n in os.listdir(folder) if n.endswith(".msg")], "the message is there once written"
        assert queue.get(timeout=5).payload == {"run_id": "r2"}
        queue.close()
