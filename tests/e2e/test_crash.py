"""Crash safety: kill -9 while events arrive at full speed. Every event answered 202
is stored exactly once, the store passes PRAGMA integrity_check, and client retries
of unanswered events create no duplicates (DESIGN.md section 8)."""
import http.client
import json
import random
import sqlite3
import threading
import time

from conftest import WEB_KEY

EVENTS = 2000
SENDERS = 16


def send_all(port, keys, acked, stop):
    conn = None
    for key in keys:
        if stop.is_set():
            return
        body = json.dumps({"routing_key": WEB_KEY, "event_action": "trigger", "dedup_key": key,
                           "payload": {"summary": "crash " + key, "source": "t",
                                       "severity": "error"}})
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/v2/enqueue", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if r.status == 202:
                acked.append(key)
        except (OSError, http.client.HTTPException):
            return   # the daemon died under us


def alerts_by_key(db):
    con = sqlite3.connect(db)
    rows = dict(con.execute("SELECT dedup_key, count(*) FROM alerts GROUP BY dedup_key"))
    incidents = con.execute("SELECT count(*) FROM incidents").fetchone()[0]
    con.close()
    return rows, incidents


def test_kill_9_during_ingest_loses_and_doubles_nothing(make_tocsin):
    rng = random.Random(20261122)
    t = make_tocsin()
    t.stop()
    total_acked = set()
    for rnd in range(5):
        t.start()
        keys = [f"r{rnd}-{i}" for i in range(EVENTS)]
        acked, stop = [], threading.Event()
        chunks = [keys[i::SENDERS] for i in range(SENDERS)]
        threads = [threading.Thread(target=send_all, args=(t.port, c, acked, stop))
                   for c in chunks]
        for th in threads:
            th.start()
        # kill at a random point of the stream, measured in answers received
        target = rng.randrange(100, EVENTS - 200)
        deadline = time.time() + 60
        while len(acked) < target and time.time() < deadline:
            time.sleep(0.0005)
        t.kill9()
        stop.set()
        for th in threads:
            th.join()
        total_acked.update(acked)

        # after the crash: every acknowledged event is there exactly once
        con = sqlite3.connect(t.db)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
        rows, incidents = alerts_by_key(t.db)
        missing = [k for k in total_acked if k not in rows]
        assert not missing, f"round {rnd}: {len(missing)} acknowledged events lost"
        assert all(n == 1 for n in rows.values())
        assert incidents == len(rows)
        assert 0 < len(acked) < EVENTS, f"round {rnd}: the kill missed the stream ({len(acked)})"
        print(f"round {rnd}: {len(acked)} of {EVENTS} acknowledged before kill -9")

        # the senders retry what got no answer: dedup keys fold, nothing doubles
        t.start()
        unanswered = [k for k in keys if k not in set(acked)][:300]
        retry_acked = []
        send_all(t.port, unanswered + list(acked)[:50], retry_acked, threading.Event())
        assert len(retry_acked) == len(unanswered) + min(50, len(acked))
        total_acked.update(unanswered)
        t.stop()
        rows, incidents = alerts_by_key(t.db)
        assert all(n == 1 for n in rows.values()), "a retried event was stored twice"
        assert incidents == len(rows)
