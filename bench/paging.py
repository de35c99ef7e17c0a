#!/usr/bin/python3
"""Paging latency: from an event's answer to the webhook receiver having the page,
tocsin against Alertmanager, with one timing script for both, in the same run.

- tocsin (the optimised build) on a fresh store: one service whose policy assigns
  alice at level 1; alice's only rule is a webhook at `after: 0m`. Each trigger opens
  an incident, which is committed durably (incident, escalation step, page, delivery)
  before the 202; the page then goes out.
- Debian's prometheus-alertmanager: one route with `group_by: [alertname]`,
  `group_wait: 0s`, to a `webhook_configs` receiver; each alert has a new alertname, so
  each is a new group flushed at once.
- One receiver (http.server, in this script) records when each webhook arrives. The
  sender posts one event, notes when it sent it and when the answer came, waits for
  its webhook, and takes arrival minus answer (what the issue names: from the 202)
  and arrival minus send (the whole way, tocsin's fsync included); tocsin and
  Alertmanager alternate, event by event.

Usage: bench/paging.py [TOCSIN_BINARY] [N per server, default 1000]
"""
import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = sys.argv[1] if len(sys.argv) > 1 else "./tocsin"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
KEY = "0123456789abcdef0123456789abcdef"
AM = shutil.which("prometheus-alertmanager")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Arrivals:
    """The receiver's record: path -> the time the latest request arrived."""

    def __init__(self):
        self.cond = threading.Condition()
        self.count = {}
        self.at = {}

    def arrived(self, path):
        now = time.perf_counter()
        with self.cond:
            self.count[path] = self.count.get(path, 0) + 1
            self.at[path] = now
            self.cond.notify_all()

    def wait(self, path, count, timeout=10):
        with self.cond:
            ok = self.cond.wait_for(lambda: self.count.get(path, 0) >= count, timeout)
            if not ok:
                raise SystemExit(f"no webhook on {path} (#{count}) within {timeout} s")
            return self.at[path]


def receiver(arrivals):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            arrivals.arrived(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def wait_port(port):
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def start_tocsin(work, hook):
    port = free_port()
    cfg = os.path.join(work, "tocsin.yaml")
    open(cfg, "w").write(f"""\
server: {{listen: "127.0.0.1:{port}", rate_limit: 0}}
storage: {{sqlite: {work}/tocsin.db}}
notify: {{allow_private: true}}
users:
  - id: alice
    contact_methods: [{{id: hook, type: webhook, url: "{hook}"}}]
    notification_rules: [{{contact: hook, after: 0m}}]
escalation_policies:
  - {{id: p, levels: [{{targets: [user:alice], escalate_after: 1h}}]}}
services:
  - {{id: website, escalation_policy: p, integration_keys: [{KEY}]}}
""")
    proc = subprocess.Popen([BIN, "serve", "-c", cfg], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(work, "tocsin.log"), "w"))
    wait_port(port)
    return proc, port


def start_am(work, hook):
    port = free_port()
    cfg = os.path.join(work, "am.yml")
    open(cfg, "w").write(f"""\
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 24h
receivers:
  - name: hook
    webhook_configs: [{{url: "{hook}", send_resolved: false}}]
""")
    proc = subprocess.Popen([AM, f"--config.file={cfg}", f"--storage.path={work}/am",
                             f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address=", "--log.level=error"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, port


def post(conn, path, doc, sent):
    body = json.dumps(doc)
    sent.append(time.perf_counter())
    conn.request("POST", path, body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    if r.status >= 300:
        raise SystemExit(f"{path}: HTTP {r.status}")
    return time.perf_counter()


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100 * len(v)))]


def main():
    work = tempfile.mkdtemp(prefix="tocsin-paging-")
    arrivals = Arrivals()
    rcv = receiver(arrivals)
    hook = f"http://127.0.0.1:{rcv.server_address[1]}"
    tproc, tport = start_tocsin(work, hook + "/tocsin")
    aproc, aport = start_am(work, hook + "/am")
    tconn = http.client.HTTPConnection("127.0.0.1", tport, timeout=10)
    aconn = http.client.HTTPConnection("127.0.0.1", aport, timeout=10)
    delays = {"tocsin": [], "am": []}
    sends = {"tocsin": [], "am": []}
    try:
        for i in range(1, N + 11):
            sent = []
            answered = post(tconn, "/v2/enqueue", {
                "routing_key": KEY, "event_action": "trigger", "dedup_key": f"page-{i}",
                "payload": {"summary": f"disk full {i}", "source": "db", "severity": "critical"}},
                sent)
            got = arrivals.wait("/tocsin", i)
            if i > 10:      # the first ten warm both up
                delays["tocsin"].append((got - answered) * 1000)
                sends["tocsin"].append((got - sent[0]) * 1000)
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            sent = []
            answered = post(aconn, "/api/v2/alerts", [
                {"labels": {"alertname": f"page-{i}", "severity": "critical"},
                 "annotations": {"summary": f"disk full {i}"}, "startsAt": now}], sent)
            got = arrivals.wait("/am", i)
            if i > 10:
                delays["am"].append((got - answered) * 1000)
                sends["am"].append((got - sent[0]) * 1000)
    finally:
        for p in (tproc, aproc):
            p.terminate()
            p.wait()
        rcv.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    for name, label in (("tocsin", "tocsin (trigger, durable)"),
                        ("am", "Alertmanager (alert, group_wait 0s)")):
        for what, d in (("answer -> webhook", delays[name]), ("send -> webhook", sends[name])):
            print(f"paging: {label}, {what}: p50 {pct(d, 50):.2f} ms, "
                  f"p99 {pct(d, 99):.2f} ms, max {max(d):.2f} ms over {len(d)}")


if __name__ == "__main__":
    main()
