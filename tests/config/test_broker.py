"""The embedded broker (``config.broker``): kombu's filesystem transport,
reading its folder once for many messages, through kombu's own API."""

import os
import threading

import pytest
from kombu import Connection

from config import broker


@pytest.fixture
def folder(tmp_path):
    """A fresh broker folder; kombu's in-process record of the queues bound
    (shared by every filesystem connection) starts empty too."""
    (tmp_path / "queue").mkdir()
    (tmp_path / "control").mkdir()
    broker.Transport.global_state.clear()
    yield tmp_path
    broker.Transport.global_state.clear()


def connect(folder, **options):
    return Connection(f"{broker.SCHEME}://", transport_options={
        "data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"), "polling_interval": 0.01, **options})


@pytest.fixture
def listings(monkeypatch):
    """How often the transport reads a folder."""
    calls = []
    real = os.listdir

    def counting(path):
        calls.append(path)
        return real(path)
    monkeypatch.setattr(broker.os, "listdir", counting)
    return calls


def drain(queue, count: int) -> list:
    bodies = []
    for _ in range(count):
        message = queue.get(timeout=5)
        message.ack()
        bodies.append(message.payload)
    return bodies


def test_the_scheme_names_this_transport(folder):
    with connect(folder) as connection:
        assert isinstance(connection.transport, broker.Transport)


def test_messages_come_out_in_order_from_one_reading_of_the_folder(folder, listings):
    with connect(folder) as connection:
        queue = connection.SimpleQueue("runs")
        for i in range(200):
            queue.put({"n": i})
        listings.clear()

        bodies = drain(queue, 200)

        assert bodies == [{"n": i} for i in range(200)]
        assert len(listings) <= 3  # kombu's own transport reads it once a message
        with pytest.raises(queue.Empty):
            queue.get(timeout=0.1)
        queue.close()


def test_a_queue_polled_under_a_backlog_of_another_still_sees_its_new_messages(folder):
    with connect(folder) as connection:
        backlog, control = connection.SimpleQueue("runs"), connection.SimpleQueue("control")
        for i in range(50):
            backlog.put({"n": i})
        assert drain(backlog, 1) == [{"n": 0}]  # the listing now holds 49 names of "runs"

        control.put({"ping": True})

        assert drain(control, 1) == [{"ping": True}]  # within LISTING_MAX_AGE, although names were waiting
        assert drain(backlog, 49) == [{"n": i} for i in range(1, 50)]
        backlog.close()
        control.close()


def test_two_consumers_of_one_folder_never_get_the_same_message(folder):
    with connect(folder) as producer:
        queue = producer.SimpleQueue("runs")
        for i in range(300):
            queue.put({"n": i})
        queue.close()
    got: list[list] = [[], []]

    def consume(into):
        with connect(folder) as connection:
            queue = connection.SimpleQueue("runs")
            while True:
                try:
                    message = queue.get(timeout=0.5)
                except queue.Empty:
                    break
                message.ack()
                into.append(message.payload["n"])
            queue.close()
    consumers = [threading.Thread(target=consume, args=(into,)) for into in got]
    for consumer in consumers:
        consumer.start()
    for consumer in consumers:
        consumer.join(timeout=60)

    assert sorted(got[0] + got[1]) == list(range(300))


def test_a_message_being_written_is_not_taken(folder):
    with connect(folder) as connection:
        queue = connection.SimpleQueue("runs")
        queue.put({"n": 1})
        [name] = os.listdir(folder / "queue")
        # What a sender leaves while it writes: the message under its temporary name.
        os.rename(folder / "queue" / name, folder / "queue" / f".{name}.part")

        with pytest.raises(queue.Empty):
            queue.get(timeout=0.1)

        os.rename(folder / "queue" / f".{name}.part", folder / "queue" / name)
        assert drain(queue, 1) == [{"n": 1}]
        queue.close()


def test_a_file_that_is_no_message_is_dropped_without_stopping_the_consumer(folder, caplog):
    with connect(folder) as connection:
        queue = connection.SimpleQueue("runs")
        # An empty file named as the oldest message of the queue.
        (folder / "queue" / f"{0:020d}_00000000-0000-0000-0000-000000000000.runs.msg").write_bytes(b"")
        queue.put({"n": 1})

        assert drain(queue, 1) == [{"n": 1}]

        assert "is not a message" in caplog.text
        assert os.listdir(folder / "queue") == []
        queue.close()


def test_a_rejected_message_goes_back_to_the_folder(folder):
    with connect(folder) as connection:
        queue = connection.SimpleQueue("runs")
        queue.put({"n": 1})

        queue.get(timeout=5).reject(requeue=True)

        assert drain(queue, 1) == [{"n": 1}]
        queue.close()
