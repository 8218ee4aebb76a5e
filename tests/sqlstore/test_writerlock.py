"""SQLite writers of several processes queue on one lock, bounded by the store's timeout."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from payments_core.errors import StoreUnavailable
from payments_sqlstore._writerlock import WriterLock

pytestmark = pytest.mark.integration

# Another process takes the lock, says so, and holds it until its stdin closes.
_HOLDER = """
import sys
from payments_sqlstore._writerlock import WriterLock
with WriterLock(sys.argv[1], timeout=5):
    print("held", flush=True)
    sys.stdin.read()
"""


def _hold(database: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _HOLDER, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    return holder


def test_a_writer_waits_for_another_process_and_goes_on_when_it_lets_go(tmp_path: Path) -> None:
    database = tmp_path / "payments.db"
    holder = _hold(database)
    acquired = threading.Event()

    def write() -> None:
        with WriterLock(str(database), timeout=30):
            acquired.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert not acquired.wait(0.3)  # the other process still holds it
    finally:
        holder.communicate("")  # closes its stdin: it lets go and exits
    writer.join(10)
    assert acquired.is_set()


def test_a_lock_held_too_long_is_store_unavailable_in_bounded_time(tmp_path: Path) -> None:
    database = tmp_path / "payments.db"
    holder = _hold(database)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="busy"), WriterLock(str(database), timeout=0.3):
            pass
        assert time.monotonic() - started < 5
    finally:
        holder.communicate("")


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    database = tmp_path / "payments.db"
    holder = _hold(database)
    holder.kill()
    holder.communicate(timeout=10)

    with WriterLock(str(database), timeout=5):
        pass


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    lock = WriterLock(str(tmp_path / "payments.db"), timeout=5)
    inside = 0
    most = 0

    def write() -> None:
        nonlocal inside, most
        for _ in range(200):
            with lock:
                inside += 1
                most = max(most, inside)
                inside -= 1

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert most == 1


def test_an_in_memory_database_locks_threads_only(tmp_path: Path) -> None:
    with WriterLock(None, timeout=1):
        pass
    assert list(tmp_path.iterdir()) == []
