"""The store-and-forward queue: every event is written to SQLite before anything is sent, and leaves the queue only
when the broker has acknowledged it (PUBACK). A broker restart, a network drop or a gateway killed with SIGKILL loses
nothing: the next run sends what is still queued.

SQLite in WAL mode with synchronous=NORMAL: a committed event survives the gateway process dying at any point (the
failure this guards against); after a power cut the last ~second of commits may be gone, unless the queue is opened
with durable=True (synchronous=FULL: one fsync per commit). One connection, guarded by a lock, shared by the device
threads (put) and the MQTT threads (pending, ack). A queue that cannot be written (a full disk, a folder made
read-only) raises StoreError, one line naming the file; a failed write leaves the queue as it was (rolled back).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import TinymlError

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    row INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created REAL NOT NULL,
    acked REAL
);
CREATE INDEX IF NOT EXISTS pending_by_device ON events (device, acked, row);
"""
KEEP_ACKED_S = 7 * 24 * 3600.0  # acknowledged events are remembered a week: a replay of one is not sent again


class StoreError(TinymlError):
    """The queue file could not be read or written (a full disk, a read-only folder, a broken file)."""


@dataclass(frozen=True)
class Queued:
    row: int
    event_id: str
    topic: str
    payload: bytes


class EventStore:
    def __init__(self, path: str | Path, durable: bool = False):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self.db.executescript(SCHEMA)
            self.db.execute("DELETE FROM events WHERE acked IS NOT NULL AND acked < ?", (time.time() - KEEP_ACKED_S,))
        except (sqlite3.Error, OSError) as e:
            raise StoreError(f"{self.path}: cannot open the event queue: {e}") from None
        self.lock = threading.Lock()

    def _failed(self, doing: str, e: Exception) -> StoreError:
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        return StoreError(f"{self.path}: cannot {doing} the event queue: {e}")

    def put(self, device: str, event_id: str, topic: str, payload: bytes) -> int | None:
        """Store an event (committed when this returns). None when that event id is already stored (a replay)."""
        with self.lock:
            try:
                cur = self.db.execute("INSERT OR IGNORE INTO events (device, event_id, topic, payload, created) "
                                      "VALUES (?, ?, ?, ?, ?)", (device, event_id, topic, payload, time.time()))
            except sqlite3.Error as e:
                raise self._failed("store an event in", e) from None
            return cur.lastrowid if cur.rowcount else None

    def pending(self, device: str, after: int = 0, limit: int = 100) -> list[Queued]:
        """The device's events not yet acknowledged, oldest first, with row > after."""
        with self.lock:
            try:
                rows = self.db.execute("SELECT row, event_id, topic, payload FROM events WHERE device = ? AND "
                                       "acked IS NULL AND row > ? ORDER BY row LIMIT ?",
                                       (device, after, limit)).fetchall()
            except sqlite3.Error as e:
                raise self._failed("read", e) from None
        return [Queued(r, e, t, bytes(p)) for r, e, t, p in rows]

    def ack(self, rows) -> None:
        rows = list(rows)
        if not rows:
            return
        with self.lock:
            now = time.time()
            try:
                self.db.execute("BEGIN")
                self.db.executemany("UPDATE events SET acked = ? WHERE row = ?", [(now, r) for r in rows])
                self.db.execute("COMMIT")
            except sqlite3.Error as e:
                raise self._failed("mark acknowledged events in", e) from None

    def count_pending(self, device: str | None = None) -> int:
        with self.lock:
            try:
                if device is None:
                    return self.db.execute("SELECT COUNT(*) FROM events WHERE acked IS NULL").fetchone()[0]
                return self.db.execute("SELECT COUNT(*) FROM events WHERE device = ? AND acked IS NULL",
                                       (device,)).fetchone()[0]
            except sqlite3.Error as e:
                raise self._failed("read", e) from None

    def close(self) -> None:
        with self.lock:
            self.db.close()
