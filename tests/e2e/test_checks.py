"""Built-in checks against real targets: an HTTP server that answers 200, 500,
slowly or not at all, a TCP listener, a process started and killed by the test, the
real disk, heartbeat pings, and Debian's monitoring-plugins as command checks. Check
runs are due on the test clock, which the tests move; transfers and plugins run in
real time."""
import json
import os
import re
import time

import pytest

from conftest import wait_for
from receivers import disk_usage

KEY = "77777777777777777777777777777777"
PLUGINS = "/usr/lib/nagios/plugins"
CLOCK = {"TOCSIN_TEST_CLOCK": "1"}


def config(checks, extra=""):
    text = """\
server: {listen: "127.0.0.1:@PORT@", time_zone: UTC}
storage: {sqlite: @DB@}
users: [{id: alice, role: admin}]
services:
  - {id: web, integration_keys: [%s]}
%schecks:
%s""" % (KEY, extra, "".join(f"  - {c}\n" for c in checks))
    text = text.replace("{", "{{").replace("}", "}}")
    return text.replace("@PORT@", "{port}").replace("@DB@", "{db}")


@pytest.fixture
def checked(make_tocsin):
    def make(*checks, extra="", env=None):
        return make_tocsin(config(checks, extra), env={**CLOCK, **(env or {})})
    return make


def status(t, check_id):
    r = t.get(f"/api/checks/{check_id}")
    assert r.status == 200, r
    return r.json()["check"]


def runs(t, check_id):
    return len(status(t, check_id)["results"])


def iso_ms(iso):
    from datetime import datetime
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def run_once(t, check_id, advance=None, timeout=15):
    """Moves time to the check's next run (just past it) and waits for its result.
    (advance is ignored: runs are anchored to when they are due.)"""
    st = wait_for(lambda: status(t, check_id)["next_run"] and status(t, check_id),
                  what=f"{check_id} scheduled")     # stored a moment after the start
    before = len(st["results"])
    now = iso_ms(t.get("/api/info").json()["now"])
    t.advance(f"{max(iso_ms(st['next_run']) - now + 100, 0)}ms")
    wait_for(lambda: runs(t, check_id) > before, timeout=timeout, what=f"a run of {check_id}")
    return status(t, check_id)


def first_run(t, check_id):
    """The first run comes within one interval (its phase)."""
    return run_once(t, check_id)


def first_runs(t, *check_ids):
    """Until each of the checks has run once (moving time check by check)."""
    for cid in check_ids:
        if not runs(t, cid):
            first_run(t, cid)


def check_incidents(t, check_id):
    return [i for i in t.incidents() if i["title"].startswith(check_id + ":")]


def test_http_ok_then_500_opens_an_incident_and_200_resolves_it(checked, http_receiver):
    url = http_receiver.url("/site")
    t = checked(f'{{id: site, service: web, type: http, url: "{url}", interval: 30s, '
                f'headers: ["X-Probe: tocsin", "Host: shop.example"]}}')
    st = first_run(t, "site")
    assert st["state"] == "OK" and st["output"].startswith("HTTP OK: 200 in ")
    req = http_receiver.requests("/site")[0]
    assert req.header("X-Probe") == "tocsin" and req.header("Host") == "shop.example"
    http_receiver.set_mode("/site", "fail")
    st = run_once(t, "site")
    assert st["state"] == "CRITICAL"
    assert st["output"].startswith("HTTP CRITICAL: 500 in ") and "(expected 200)" in st["output"]
    inc = wait_for(lambda: check_incidents(t, "site"), what="incident")[0]
    assert inc["status"] == "triggered" and inc["severity"] == "SEV-2"
    shown = t.show(inc["number"])
    assert shown["alerts"][0]["dedup_key"] == "check:site"
    assert shown["alerts"][0]["details"]["output"] == st["output"]
    assert shown["log"][0]["actor"] == "check:site"
    http_receiver.set_mode("/site", "ok")
    run_once(t, "site")
    wait_for(lambda: t.show(inc["number"])["status"] == "resolved", what="resolved")
    assert len(check_incidents(t, "site")) == 1


def test_soft_failures_page_only_when_hard(checked, http_receiver):
    url = http_receiver.url("/site")
    t = checked(f'{{id: site, service: web, type: http, url: "{url}", interval: 60s, '
                f'retries: 2, retry_interval: 10s}}')
    assert run_once(t, "site")["state"] == "OK"
    http_receiver.set_mode("/site", "fail")
    st = run_once(t, "site", advance="60s")
    assert (st["state"], st["hard"], st["attempts"]) == ("CRITICAL", False, 1)
    st = run_once(t, "site", advance="10s")         # re-checked at retry_interval
    assert (st["hard"], st["attempts"]) == (False, 2)
    time.sleep(0.5)
    assert check_incidents(t, "site") == [], "soft failures do not page"
    st = run_once(t, "site", advance="10s")
    assert (st["hard"], st["attempts"]) == (True, 3)
    wait_for(lambda: check_incidents(t, "site"), what="incident on the hard failure")
    http_receiver.set_mode("/site", "ok")
    st = run_once(t, "site", advance="60s")
    assert st["state"] == "OK" and st["attempts"] == 0


def test_slow_closed_and_wrong_body(checked, http_receiver):
    http_receiver.set_mode("/slow", "slow:0.4")
    http_receiver.set_mode("/closed", "close")
    http_receiver.set_mode("/text", "body:service is degraded")
    t = checked(
        f'{{id: slow, service: web, type: http, url: "{http_receiver.url("/slow")}", '
        f'interval: 30s, max_latency: 200ms}}',
        f'{{id: closed, service: web, type: http, url: "{http_receiver.url("/closed")}", '
        f'interval: 30s}}',
        f'{{id: text, service: web, type: http, url: "{http_receiver.url("/text")}", '
        f'interval: 30s, body_contains: "all good"}}',
        f'{{id: rx, service: web, type: http, url: "{http_receiver.url("/text")}", '
        f'interval: 30s, body_regex: "^service is (ok|degraded)$"}}')
    first_runs(t, "slow", "closed", "text", "rx")
    slow = status(t, "slow")
    assert slow["state"] == "WARNING" and "(more than 200 ms)" in slow["output"]
    assert slow["latency_ms"] >= 400
    closed = status(t, "closed")
    assert closed["state"] == "CRITICAL" and "Server returned nothing" in closed["output"]
    assert status(t, "text")["output"] == ("HTTP CRITICAL: 200, but the body does not "
                                           "contain 'all good'")
    assert status(t, "rx")["state"] == "OK"
    sev = {i["title"].split(":")[0]: i["severity"] for i in t.incidents()}
    assert sev == {"slow": "SEV-4", "closed": "SEV-2", "text": "SEV-2"}


def test_tcp_connect_send_and_expect(checked, tcp_listener):
    from receivers import TcpListener
    addr = f"127.0.0.1:{tcp_listener.port}"
    with TcpListener(banner=b"220 ready\r\n") as smtp_like:
        t = checked(
            f'{{id: port, service: web, type: tcp, address: "{addr}", interval: 30s}}',
            f'{{id: banner, service: web, type: tcp, address: "127.0.0.1:{smtp_like.port}", '
            f'interval: 30s, send: "QUIT\\r\\n", expect: "220"}}')
        first_runs(t, "port", "banner")
        assert status(t, "port")["state"] == "OK"
        assert status(t, "banner")["output"].startswith("TCP OK: 127.0.0.1:")
        assert "answered '220'" in status(t, "banner")["output"]
        assert any(b"QUIT" in r for r in smtp_like.received)
        tcp_listener.close()
        st = run_once(t, "port")
        assert st["state"] == "CRITICAL" and "Connection refused" in st["output"]
        tcp_listener.reopen()
        assert run_once(t, "port")["state"] == "OK"


def test_process_by_name_and_pidfile(checked, dummy_daemon):
    d = dummy_daemon("tocsintestd")
    t = checked('{id: byname, service: web, type: process, name: tocsintestd, interval: 30s}',
                f'{{id: bypid, service: web, type: process, pidfile: "{d.pidfile}", '
                f'interval: 30s}}')
    first_runs(t, "byname", "bypid")
    assert status(t, "byname")["output"] == "PROCS OK: 1 process named 'tocsintestd'"
    assert status(t, "bypid")["state"] == "OK"
    d.stop()
    run_once(t, "byname")
    run_once(t, "bypid")
    assert status(t, "byname")["output"] == ("PROCS CRITICAL: 0 processes named 'tocsintestd' "
                                             "(at least 1)")
    assert status(t, "bypid")["state"] == "CRITICAL"


def test_disk_thresholds_around_the_real_usage(checked, tmp_path):
    free_pct, _, _ = disk_usage(str(tmp_path))
    below, above = max(free_pct - 5, 0.1), min(free_pct + 5, 99.9)
    t = checked(f'{{id: roomy, service: web, type: disk, path: "{tmp_path}", '
                f'min_free: "{below:.1f}%", interval: 30s}}',
                f'{{id: tight, service: web, type: disk, path: "{tmp_path}", '
                f'min_free: "{above:.1f}%", interval: 30s}}')
    first_runs(t, "roomy", "tight")
    assert status(t, "roomy")["state"] == "OK"
    tight = status(t, "tight")
    assert tight["state"] == "CRITICAL" and f"(at least {above:.1f}%)" in tight["output"]


def test_heartbeat_on_time_late_and_back(checked):
    t = checked('{id: nightly, service: web, type: heartbeat, key: beat-key-1, '
                'expect_every: 1h, grace: 5m}')
    assert t.post("/heartbeat/beat-key-1").status == 200
    assert t.post("/heartbeat/nope").status == 404
    t.advance("50m")
    assert t.post("/heartbeat/beat-key-1").json() == {"status": "ok", "check": "nightly"}
    t.advance("64m")                     # within every + grace of the last ping
    time.sleep(1.2)
    assert check_incidents(t, "nightly") == []
    t.advance("2m")
    inc = wait_for(lambda: check_incidents(t, "nightly"), what="late heartbeat")[0]
    assert "HEARTBEAT CRITICAL: no ping for" in inc["title"] and "(expected every 1h)" in inc["title"]
    t.post("/heartbeat/beat-key-1")
    wait_for(lambda: t.show(inc["number"])["status"] == "resolved", what="the ping resolves")


def test_heartbeat_deadline_survives_a_restart(checked):
    t = checked('{id: nightly, service: web, type: heartbeat, key: beat-key-2, '
                'expect_every: 1h, grace: 5m}')
    t.post("/heartbeat/beat-key-2")
    off = t.advance("40m")["offset_ms"]
    t.stop()
    t.env["TOCSIN_TEST_CLOCK_OFFSET"] = f"{off}ms"
    t.start()
    t.advance("20m")                    # 60m since the ping: within the grace
    time.sleep(1.2)
    assert check_incidents(t, "nightly") == []
    t.advance("6m")
    wait_for(lambda: check_incidents(t, "nightly"), what="the deadline kept across the restart")


@pytest.mark.parametrize("code,state", [(0, "OK"), (1, "WARNING"), (2, "CRITICAL"),
                                        (3, "UNKNOWN")])
def test_nagios_plugin_exit_codes(checked, code, state):
    t = checked(f'{{id: dummy, service: web, type: command, interval: 30s, '
                f'command: "{PLUGINS}/check_dummy {code} \'all is {state}\'"}}')
    st = first_run(t, "dummy")
    assert st["state"] == state and st["output"] == f"{state}: all is {state}"


def test_plugin_output_perfdata_and_odd_exit_codes(checked):
    t = checked('{id: odd, service: web, type: command, interval: 30s, shell: true, '
                'command: "echo \'LOAD OK - load 0.1 | load1=0.1;5;10;0\'; echo second line; '
                'exit 7"}',
                '{id: perf, service: web, type: command, interval: 30s, shell: true, '
                'command: "echo \'DISK WARNING - 9% free | free=9%;10;5\'; exit 1"}')
    first_runs(t, "odd", "perf")
    assert status(t, "odd")["state"] == "UNKNOWN"
    assert status(t, "odd")["output"] == "UNKNOWN: exit status 7: LOAD OK - load 0.1"
    assert status(t, "perf")["output"] == "DISK WARNING - 9% free"
    inc = wait_for(lambda: check_incidents(t, "perf"), what="warning incident")[0]
    details = t.show(inc["number"])["alerts"][0]["details"]
    assert details["perfdata"] == "free=9%;10;5" and details["state"] == "WARNING"


def test_a_hanging_plugin_is_killed_at_the_timeout_with_its_children(checked, tmp_path):
    marker = tmp_path / "child.pid"
    t = checked(f'{{id: hang, service: web, type: command, interval: 30s, timeout: 1s, '
                f'shell: true, command: "sleep 60 & echo $! > {marker}; wait"}}')
    started = time.time()
    st = first_run(t, "hang")
    assert time.time() - started < 6
    assert st["state"] == "UNKNOWN" and st["output"].startswith(
        "UNKNOWN: killed after the 1000 ms timeout")
    child = int(marker.read_text())
    wait_for(lambda: not os.path.exists(f"/proc/{child}") or
             open(f"/proc/{child}/stat").read().split()[2] == "Z",
             what="the plugin's own children killed with it")


def test_a_plugin_printing_1mb_is_capped(checked):
    t = checked('{id: loud, service: web, type: command, interval: 30s, shell: true, '
                'command: "echo \'CRITICAL - too much\'; head -c 1048576 /dev/zero | '
                'tr \'\\\\0\' x; exit 2"}')
    st = first_run(t, "loud")
    assert st["state"] == "CRITICAL" and st["output"] == "CRITICAL - too much"
    inc = wait_for(lambda: check_incidents(t, "loud"), what="incident")[0]
    long = t.show(inc["number"])["alerts"][0]["details"]["long_output"]
    assert len(long) < 70 * 1024 and "more bytes of output not kept]" in long


def test_real_check_tcp_and_check_http_plugins(checked, http_receiver, tcp_listener):
    t = checked(f'{{id: ptcp, service: web, type: command, interval: 30s, '
                f'command: "{PLUGINS}/check_tcp -H 127.0.0.1 -p {tcp_listener.port} -t 5"}}',
                f'{{id: phttp, service: web, type: command, interval: 30s, '
                f'command: "{PLUGINS}/check_http -H 127.0.0.1 -p {http_receiver.port} -u /x '
                f'-t 5"}}')
    first_runs(t, "ptcp", "phttp")
    assert status(t, "ptcp")["state"] == "OK" and status(t, "ptcp")["output"].startswith("TCP OK")
    assert status(t, "phttp")["state"] == "OK"
    http_receiver.set_mode("/x", "fail")
    assert run_once(t, "phttp")["state"] == "CRITICAL"


def test_dependency_suppresses_the_childs_page(checked, tcp_listener, http_receiver):
    http_receiver.set_mode("/app", "fail")
    t = checked(f'{{id: db, service: web, type: tcp, address: "127.0.0.1:{tcp_listener.port}", '
                f'interval: 30s}}',
                f'{{id: app, service: web, type: http, url: "{http_receiver.url("/app")}", '
                f'interval: 30s, retries: 1, depends_on: [db]}}')
    tcp_listener.close()
    first_run(t, "db")                   # the parent is hard down at once (no retries)
    while not status(t, "app").get("hard"):   # the child turns hard on a later run
        run_once(t, "app")
    wait_for(lambda: check_incidents(t, "db"), what="the parent pages")
    time.sleep(0.5)
    assert status(t, "app")["suppressed"] is True
    assert check_incidents(t, "app") == [], "the child is suppressed while its parent is down"


def test_flapping_stops_paging_and_is_noted(checked, http_receiver):
    t = checked(f'{{id: flappy, service: web, type: http, url: "{http_receiver.url("/f")}", '
                f'interval: 30s}}')
    first_run(t, "flappy")
    for i in range(6):
        http_receiver.set_mode("/f", "fail" if i % 2 == 0 else "ok")
        run_once(t, "flappy")
    st = status(t, "flappy")
    assert st["flapping"] is True
    incs = check_incidents(t, "flappy")
    notes = [e for i in incs for e in t.show(i["number"])["log"] if e["type"] == "note"]
    assert any("is flapping" in n["message"] for n in notes), notes
    count = len(incs)
    for i in range(2):
        http_receiver.set_mode("/f", "fail" if i % 2 == 0 else "ok")
        run_once(t, "flappy")
    assert len(check_incidents(t, "flappy")) == count, "no new incidents while flapping"


def test_maintenance_keeps_the_incident_but_pages_nobody(checked, http_receiver):
    http_receiver.set_mode("/m", "fail")
    t = checked(f'{{id: m, service: web, type: http, url: "{http_receiver.url("/m")}", '
                f'interval: 30s}}')
    assert t.cli("maintenance", "web", "--for", "2h").returncode == 0
    first_run(t, "m")
    inc = wait_for(lambda: check_incidents(t, "m"), what="incident")[0]
    assert inc["paged"] is False


def test_checks_cli_json_history_and_phase_spread(checked, http_receiver):
    url = http_receiver.url("/p")
    t = checked(*[f'{{id: p{i}, service: web, type: http, url: "{url}", interval: 60s}}'
                  for i in range(20)])
    listed = json.loads(t.cli("checks", "--json").stdout)
    assert [c["id"] for c in listed] == [f"p{i}" for i in range(20)]
    assert all(c["state"] == "PENDING" for c in listed)
    firsts = {c["next_run"] for c in listed}
    assert len(firsts) >= 15, "first runs are spread over the interval, not all at once"
    t.advance("61s")
    wait_for(lambda: all(runs(t, f"p{i}") for i in range(20)), what="every check ran")
    table = t.cli("checks").stdout.splitlines()
    assert table[0].split()[:3] == ["CHECK", "TYPE", "STATE"]
    assert all(" OK " in line for line in table[1:]), table
    results = status(t, "p0")["results"]
    assert results[0]["state"] == "OK" and results[0]["output"].startswith("HTTP OK")
    metrics = t.get("/metrics", user=None).body
    ran = [line for line in metrics.splitlines() if line.startswith("tocsin_checks_run_total ")]
    assert int(ran[0].split()[1]) >= 20


@pytest.fixture
def https_server(tmp_path):
    """A real HTTPS server with a self-signed certificate valid for 5 days."""
    import http.server
    import ssl
    import subprocess
    import threading
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "5",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_tls_is_verified_and_certificate_expiry_warns(checked, https_server):
    t = checked(f'{{id: strict, service: web, type: http, url: "{https_server}", interval: 30s}}',
                f'{{id: soon, service: web, type: http, url: "{https_server}", interval: 30s, '
                f'tls_verify: false, cert_expiry: 10}}',
                f'{{id: fine, service: web, type: http, url: "{https_server}", interval: 30s, '
                f'tls_verify: false, cert_expiry: 2}}')
    first_runs(t, "strict", "soon", "fine")
    strict = status(t, "strict")
    assert strict["state"] == "CRITICAL" and "certificate" in strict["output"].lower()
    soon = status(t, "soon")
    assert soon["state"] == "WARNING", soon
    # five days from the second it was made: 4 or 5 whole days left
    assert re.search(r"the certificate ends in [45] days$", soon["output"]), soon["output"]
    assert status(t, "fine")["state"] == "OK"
