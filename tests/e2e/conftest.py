"""Harness for tocsin's end-to-end tests: each test gets a real `tocsin serve` on a
free loopback port with its own SQLite store in a temporary directory, and talks to
it over HTTP and through the real CLI. The daemon is the AddressSanitizer build
under `make test` (TOCSIN_BIN); a test fails if the daemon reports a sanitizer error
or leak when it stops."""
import http.client
import json
import os
import signal
import socket
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from receivers import dummy_daemon, http_receiver, smtp_receiver, tcp_listener  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("TOCSIN_BIN", str(ROOT / "tocsin"))

WEB_KEY = "0123456789abcdef0123456789abcdef"
DB_KEY = "fedcba9876543210fedcba9876543210"
TIMED_KEY = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
LIMITED_KEY = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
GROUPED_KEY = "cccccccccccccccccccccccccccccccc"

BASE_CONFIG = """\
server: {{listen: "127.0.0.1:{port}", time_zone: {tz}}}
storage: {{sqlite: {db}}}
users:
  - {{id: alice, name: Alice Martin, email: alice@example.com, role: admin}}
  - {{id: bob, name: Bob Stone, email: bob@example.com, role: responder}}
  - {{id: olive, name: Olive Reed, role: observer}}
teams:
  - {{id: web, name: Web Platform, members: [alice, bob]}}
escalation_policies:
  - id: web-default
    levels:
      - {{targets: [user:alice], escalate_after: 15m}}
services:
  - {{id: website, name: Public website, team: web, escalation_policy: web-default,
     integration_keys: [{web_key}]}}
  - {{id: database, integration_keys: [{db_key}]}}
  - {{id: timed, integration_keys: [{timed_key}], ack_timeout: 30m, auto_resolve: 4h}}
  - {{id: limited, integration_keys: [{limited_key}], rate_limit: 5}}
  - {{id: grouped, integration_keys: [{grouped_key}], group_window: 5m}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def request(port, method, path, body=None, headers=None, raw=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    hdrs = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=hdrs)
    r = conn.getresponse()
    out = Response(r.status, r.read().decode("utf-8", "replace"), dict(r.getheaders()))
    conn.close()
    return out


class Tocsin:
    """One tocsin daemon, its config, store and log."""

    def __init__(self, tmp: Path, config: str = BASE_CONFIG, env=None, tz="UTC"):
        self.tmp = tmp
        self.port = free_port()
        self.db = tmp / "var" / "tocsin.db"
        self.config_path = tmp / "tocsin.yaml"
        self.log_path = tmp / "tocsin.log"
        self.env = dict(os.environ)
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self.env.update(env or {})
        self.write_config(config, tz=tz)
        self.proc = None
        self._log = None
        self.tokens = {}

    def write_config(self, config, tz="UTC"):
        text = config.format(port=self.port, db=self.db, tz=tz, web_key=WEB_KEY,
                             db_key=DB_KEY, timed_key=TIMED_KEY,
                             limited_key=LIMITED_KEY, grouped_key=GROUPED_KEY)
        self.config_path.write_text(textwrap.dedent(text))

    def start(self, wait=True):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "serve", "-c", str(self.config_path)],
                                     stdout=self._log, stderr=self._log, env=self.env,
                                     cwd=self.tmp)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"tocsin exited {self.proc.returncode}:\n{self.log()}")
            try:
                if request(self.port, "GET", "/healthz", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("tocsin did not become ready:\n" + self.log())

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, check=True):
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("tocsin did not stop on SIGTERM:\n" + self.log())
        rc = self.proc.returncode
        self.proc = None
        self._log.close()
        if check:
            log = self.log()
            assert "AddressSanitizer" not in log and "LeakSanitizer" not in log \
                and "runtime error" not in log, log
            assert rc == 0, f"tocsin exited {rc}:\n{log}"
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self._log.close()

    def restart(self):
        self.stop()
        return self.start()

    # --- clients --------------------------------------------------------------
    def token(self, user="alice"):
        if user not in self.tokens:
            r = self.run("token", "create", user, "-c", str(self.config_path))
            assert r.returncode == 0, r.stderr
            self.tokens[user] = r.stdout.strip()
        return self.tokens[user]

    def run(self, *args, user=None, env=None, input=None):
        e = dict(self.env)
        e["TOCSIN_URL"] = f"http://127.0.0.1:{self.port}"
        if user:
            e["TOCSIN_TOKEN"] = self.token(user)
        e.update(env or {})
        return subprocess.run([BIN, *args], capture_output=True, text=True, env=e,
                              cwd=self.tmp, input=input, timeout=60)

    def cli(self, *args, user="alice", **kw):
        return self.run(*args, user=user, **kw)

    def post(self, path, body=None, user=None, headers=None, raw=None):
        h = dict(headers or {})
        if user:
            h["Authorization"] = "Bearer " + self.token(user)
        return request(self.port, "POST", path, body=body, headers=h, raw=raw)

    def get(self, path, user="alice", headers=None):
        h = dict(headers or {})
        if user:
            h["Authorization"] = "Bearer " + self.token(user)
        return request(self.port, "GET", path, headers=h)

    def enqueue(self, action="trigger", key=WEB_KEY, dedup=None, summary="HTTP down on srv01",
                severity="critical", source="srv01.example.com", **extra):
        body = {"routing_key": key, "event_action": action}
        if dedup is not None:
            body["dedup_key"] = dedup
        if action == "trigger":
            body["payload"] = {"summary": summary, "source": source, "severity": severity}
        body.update(extra)
        return self.post("/v2/enqueue", body)

    def incidents(self, **query):
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        r = self.get("/api/incidents" + ("?" + qs if qs else ""))
        assert r.status == 200, r
        return r.json()["incidents"]

    def show(self, number):
        r = self.get(f"/api/incidents/{number}")
        assert r.status == 200, r
        return r.json()

    def advance(self, duration):
        r = self.post("/api/test/clock", {"advance": duration}, user="alice")
        assert r.status == 200, r
        return r.json()


@pytest.fixture
def make_tocsin(tmp_path):
    made = []

    def make(config=BASE_CONFIG, env=None, start=True, tz="UTC", sub=None):
        d = tmp_path / (sub or f"t{len(made)}")
        d.mkdir()
        t = Tocsin(d, config, env=env, tz=tz)
        made.append(t)
        if start:
            t.start()
        return t

    yield make
    for t in made:
        if t.proc:
            t.stop()


@pytest.fixture
def tocsin(make_tocsin):
    return make_tocsin()


def without_notify(log):
    """A timeline without its delivery entries (notify, notify_failed), for tests about
    something else whose users have no contact methods."""
    return [e for e in log if e["type"] not in ("notify", "notify_failed")]


def wait_for(fn, timeout=15, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value {last!r}")
