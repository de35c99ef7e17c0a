#!/usr/bin/python3
"""Escalation engine benchmark: 10,000 open incidents, each with a pending escalation
step, on the real clock.

1. Starts tocsin (the optimised build) on a fresh store with one service whose policy
   pages a schedule (two layers, on-call computed per step) at level 1 and escalates
   to a user after ESCALATE_AFTER seconds.
2. Opens N incidents as fast as 8 keep-alive connections can send triggers; each
   incident's level-2 deadline is its creation time + ESCALATE_AFTER.
3. While all N steps wait, samples the CPU time of the engine thread (tocsin-engine)
   and of the whole process over IDLE seconds.
4. When every deadline has passed, reads the store: lateness of each step = the time
   the level-2 step was taken (its timeline entry) minus its deadline; prints p50,
   p99 and max, and the engine's own lateness histogram (deadline to commit) from
   /metrics.
5. Catch-up: on a second fresh store, opens N incidents, stops tocsin (SIGTERM) at
   once, waits until every deadline is past, starts it again and times how long
   until all N overdue steps have fired, each once.

Usage: bench/escalation.py [TOCSIN_BINARY] [N]
"""
import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

BIN = sys.argv[1] if len(sys.argv) > 1 else "./tocsin"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
ESCALATE_AFTER = 40          # seconds
IDLE = 20                    # seconds of idle-waiting measured
SENDERS = 8
KEY = "0123456789abcdef0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(port, db):
    return f"""\
server: {{listen: "127.0.0.1:{port}", rate_limit: 0}}
storage: {{sqlite: {db}}}
users: [{{id: alice}}, {{id: bob}}, {{id: carol}}, {{id: dave}}]
schedules:
  - id: primary
    time_zone: America/New_York
    layers:
      - {{name: weekly, start: "2026-11-02T09:00", turn: 1w, users: [alice, bob]}}
      - {{name: nights, start: "2026-11-02T18:00", turn: 1d, users: [carol],
         restrict: {{daily: "18:00-08:00"}}}}
escalation_policies:
  - id: web
    levels:
      - {{targets: [schedule:primary], escalate_after: {ESCALATE_AFTER}s}}
      - {{targets: [user:dave], escalate_after: 30m}}
services:
  - {{id: website, escalation_policy: web, integration_keys: [{KEY}]}}
"""


def send(port, first, count, errors):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(first, first + count):
        body = json.dumps({"routing_key": KEY, "event_action": "trigger",
                           "dedup_key": f"esc-{i}",
                           "payload": {"summary": f"disk full on db-{i % 50}",
                                       "source": "db", "severity": "critical"}})
        conn.request("POST", "/v2/enqueue", body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        if r.status != 202:
            errors.append(r.status)
    conn.close()


def thread_cpu(pid, name):
    """CPU seconds (user + system) of the thread called name, or of the process."""
    ticks = os.sysconf("SC_CLK_TCK")
    if name is None:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks
    for tid in os.listdir(f"/proc/{pid}/task"):
        if open(f"/proc/{pid}/task/{tid}/comm").read().strip() == name:
            fields = open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks
    raise SystemExit(f"no thread {name}")


def metric_lines(port, prefix):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    return [line for line in text.splitlines() if line.startswith(prefix)]


def pct(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def start(work):
    """Starts tocsin on work/tocsin.yaml; returns (process, port)."""
    cfg = os.path.join(work, "tocsin.yaml")
    port = free_port()
    open(cfg, "w").write(config(port, os.path.join(work, "tocsin.db")))
    log = open(os.path.join(work, "log"), "a")
    proc = subprocess.Popen([BIN, "serve", "-c", cfg], stdout=log, stderr=log)
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("tocsin did not start")


def open_incidents(port):
    """Sends N triggers over SENDERS connections; returns how long it took."""
    t0 = time.time()
    errors, threads = [], []
    per = N // SENDERS
    for s in range(SENDERS):
        th = threading.Thread(target=send, args=(port, s * per, per, errors))
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    if errors:
        raise SystemExit(f"{len(errors)} triggers refused: {errors[:5]}")
    return time.time() - t0


STEPS_SQL = ("SELECT l.at - i.created_at - ? FROM log l JOIN incidents i"
             " ON i.number = l.incident"
             " WHERE l.type = 'escalate' AND l.message LIKE 'not acknowledged%'")


def catch_up():
    work = tempfile.mkdtemp(prefix="tocsin-esc-")
    proc, port = start(work)
    try:
        open_incidents(port)
        proc.terminate()
        proc.wait()
        time.sleep(ESCALATE_AFTER + 2)
        t0 = time.time()
        proc, port = start(work)
        con = sqlite3.connect(os.path.join(work, "tocsin.db"))
        fired = 0
        while time.time() - t0 < 60:
            fired = con.execute(STEPS_SQL.replace("SELECT l.at - i.created_at - ?",
                                                  "SELECT count(*)"), ()).fetchone()[0]
            if fired >= N:
                break
            time.sleep(0.05)
        took = time.time() - t0
        dup = con.execute("SELECT count(*) FROM (SELECT incident FROM pages GROUP BY incident,"
                          " level, loop HAVING count(*) > 1)").fetchone()[0]
        print(f"escalation: catch-up after downtime: {fired} overdue steps fired "
              f"{took:.2f} s after the restart began (start-up included); "
              f"{dup} incidents with a doubled step")
    finally:
        proc.terminate()
        proc.wait()
        subprocess.run(["rm", "-rf", work])


def main():
    work = tempfile.mkdtemp(prefix="tocsin-esc-")
    db = os.path.join(work, "tocsin.db")
    proc, port = start(work)
    try:
        t0 = time.time()
        created = open_incidents(port)
        pending = metric_lines(port, "tocsin_engine_timers_pending")[-1].split()[1]
        print(f"escalation: {N} incidents opened in {created:.1f} s; "
              f"{pending} escalation steps pending")

        time.sleep(2)
        e0, p0, w0 = thread_cpu(proc.pid, "tocsin-engine"), thread_cpu(proc.pid, None), time.time()
        time.sleep(IDLE)
        e1, p1, w1 = thread_cpu(proc.pid, "tocsin-engine"), thread_cpu(proc.pid, None), time.time()
        wall = w1 - w0
        print(f"escalation: idle-waiting with {pending} steps pending for {wall:.0f} s: "
              f"engine thread {100 * (e1 - e0) / wall:.2f}% of a core, "
              f"whole daemon {100 * (p1 - p0) / wall:.2f}%")

        # every deadline is at most created + ESCALATE_AFTER from t0
        remaining = t0 + created + ESCALATE_AFTER + 5 - time.time()
        if remaining > 0:
            time.sleep(remaining)
        con = sqlite3.connect(db)
        rows = con.execute(STEPS_SQL, (ESCALATE_AFTER * 1000,)).fetchall()
        late = sorted(r[0] for r in rows)
        if len(late) != N:
            raise SystemExit(f"only {len(late)} of {N} steps fired")
        print(f"escalation: {len(late)} steps fired; lateness (step taken minus deadline): "
              f"p50 {pct(late, 50)} ms, p99 {pct(late, 99)} ms, max {late[-1]} ms")
        hist = metric_lines(port, "tocsin_timer_lateness_seconds_bucket")
        print("escalation: deadline to commit, /metrics: " +
              ", ".join(h.replace("tocsin_timer_lateness_seconds_bucket", "") for h in hist))
    finally:
        proc.terminate()
        proc.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
    catch_up()
