"""A store that cannot commit: the sender gets 503, never a 202 without a commit, and
tocsin recovers by itself when the fault clears (R-STORAGE-FAULT, long-held lock)."""
import sqlite3
import time


def test_long_held_lock_gives_503_and_recovers_without_restart(tocsin):
    assert tocsin.enqueue(dedup="before").status == 202
    blocker = sqlite3.connect(tocsin.db, timeout=1, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")        # holds the write lock
    try:
        t0 = time.time()
        r = tocsin.enqueue(dedup="during")
        assert r.status == 503
        assert r.json()["message"] == "store unavailable"
        assert r.headers["Retry-After"] == "1"
        assert time.time() - t0 >= 4            # it waited for the lock first
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    # the fault cleared: the retry is accepted, and the 503'd event was not stored
    assert tocsin.enqueue(dedup="after").status == 202
    keys = {tocsin.show(i["number"])["alerts"][0]["dedup_key"] for i in tocsin.incidents()}
    assert keys == {"before", "after"}
    assert tocsin.enqueue(dedup="during").status == 202
