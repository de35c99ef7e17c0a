"""The real mail and webhook receivers and the check targets of receivers.py,
tried with standard library clients and without the daemon."""
import hashlib
import hmac
import http.client
import json
import os
import shutil
import smtplib
import socket
import subprocess
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from receivers import (DummyDaemon, SmtpReceiver, TcpListener,  # noqa: F401
                       disk_usage, dummy_daemon, http_receiver, smtp_receiver,
                       tcp_listener, verify_signature)

SECRET = "whsec_0123456789"


def alert_mail():
    msg = EmailMessage()
    msg["From"] = "tocsin@example.com"
    msg["To"] = "alice@example.com, bob@example.com"
    msg["Subject"] = "[tocsin] #1 triggered: HTTP down on srv01"
    msg.set_content("Incident #1 on Public website\n")
    msg.add_alternative("<p>Incident <b>#1</b> on Public website</p>\n",
                        subtype="html")
    return msg


def smtp_client(receiver):
    return smtplib.SMTP("127.0.0.1", receiver.port, timeout=10)


def send(receiver, method, path, body=b"", headers=None, timeout=5):
    """Send one request on a new connection; return (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def signature(body, secret, t):
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


# ---------------------------------------------------------------- SMTP

def test_smtp_receiver_records_a_multipart_message(smtp_receiver):
    before = time.time()
    with smtp_client(smtp_receiver) as client:
        assert not client.has_extn("starttls")
        client.send_message(alert_mail(), from_addr="bounce@example.com",
                            to_addrs=["alice@example.com", "bob@example.com"])
    [m] = smtp_receiver.wait(1)
    assert m.mail_from == "bounce@example.com"
    assert m.rcpt_tos == ["alice@example.com", "bob@example.com"]
    assert m.login is None
    assert before <= m.at <= time.time()
    assert b"Subject: [tocsin] #1 triggered: HTTP down on srv01" in m.raw
    assert m.message["Subject"] == "[tocsin] #1 triggered: HTTP down on srv01"
    assert m.message.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in m.message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    # Lines keep the CRLF ends they had on the wire.
    assert m.message.get_body(("plain",)).get_content() == \
        "Incident #1 on Public website\r\n"
    assert m.message.get_body(("html",)).get_content() == \
        "<p>Incident <b>#1</b> on Public website</p>\r\n"
    assert smtp_receiver.messages == [m]


def test_smtp_wait_raises_when_too_few_messages_arrive(smtp_receiver):
    with smtp_client(smtp_receiver) as client:
        client.send_message(alert_mail())
    assert len(smtp_receiver.wait(1)) == 1
    start = time.monotonic()
    with pytest.raises(AssertionError, match=r"at least 2 mail message\(s\).*got 1"):
        smtp_receiver.wait(2, timeout=0.3)
    assert 0.3 <= time.monotonic() - start < 2


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_smtp_auth_with_the_right_password_delivers(mechanism):
    with SmtpReceiver(username="tocsin", password="s3cret") as receiver:
        with smtp_client(receiver) as client:
            client.ehlo()
            assert mechanism in client.esmtp_features["auth"].split()
            client.user, client.password = "tocsin", "s3cret"
            method = getattr(client, "auth_" + mechanism.lower())
            code, _ = client.auth(mechanism, method, initial_response_ok=False)
            assert code == 235
            client.send_message(alert_mail())
        [m] = receiver.wait(1)
        assert m.login == "tocsin"
        assert m.rcpt_tos == ["alice@example.com", "bob@example.com"]


def test_smtp_auth_rejects_a_wrong_password_and_unauthenticated_mail():
    with SmtpReceiver(username="tocsin", password="s3cret") as receiver:
        with smtp_client(receiver) as client:
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login("tocsin", "wrong")
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.send_message(alert_mail())
            assert refused.value.smtp_code == 530
        with pytest.raises(AssertionError):
            receiver.wait(1, timeout=0.2)
        assert receiver.messages == []


# ---------------------------------------------------------------- HTTP

def test_http_receiver_records_a_json_post(http_receiver):
    body = json.dumps({"text": "Incident #1 triggered"}).encode()
    before = time.time()
    status, headers, answer = send(
        http_receiver, "POST", "/hooks/slack?team=web", body,
        {"Content-Type": "application/json", "X-Tocsin-Event": "incident.triggered"})
    assert (status, answer) == (200, b"ok")
    assert headers["Content-Type"] == "text/plain"
    [r] = http_receiver.wait(1, path="/hooks/slack")
    assert (r.method, r.path, r.query) == ("POST", "/hooks/slack", "team=web")
    assert r.headers["X-Tocsin-Event"] == "incident.triggered"
    assert r.headers["Content-Length"] == str(len(body))
    assert r.header("content-type") == "application/json"
    assert r.header("x-not-sent") is None
    assert r.body == body
    assert r.json() == {"text": "Incident #1 triggered"}
    assert before <= r.at <= time.time()
    assert http_receiver.url("/hooks/slack") == \
        f"http://127.0.0.1:{http_receiver.port}/hooks/slack"


@pytest.mark.parametrize("mode, status, body", [
    ("ok", 200, b"ok"),
    ("fail", 500, b"rollup_error"),
    ("bad", 400, b"invalid_payload"),
    ("status:503", 503, b""),
    ("status:204", 204, b""),
])
def test_http_modes_give_their_answer_and_are_recorded(http_receiver, mode,
                                                       status, body):
    http_receiver.set_mode("/hook", mode)
    for _ in range(2):
        assert send(http_receiver, "POST", "/hook", b"{}")[::2] == (status, body)
    assert send(http_receiver, "POST", "/other", b"{}")[::2] == (200, b"ok")
    assert [r.path for r in http_receiver.requests()] == ["/hook", "/hook", "/other"]
    assert len(http_receiver.requests("/hook")) == 2


def test_http_unknown_mode_is_refused(http_receiver):
    with pytest.raises(ValueError):
        http_receiver.set_mode("/hook", "slow")
    with pytest.raises(ValueError):
        http_receiver.set_mode("/hook", "status:42")


def test_http_wait_raises_naming_what_was_expected_and_what_came(http_receiver):
    send(http_receiver, "POST", "/a", b"x")
    with pytest.raises(AssertionError, match=r"at least 1 request\(s\) to /b.*POST /a"):
        http_receiver.wait(1, path="/b", timeout=0.2)


def test_http_hang_answers_nothing_while_other_paths_answer(http_receiver):
    http_receiver.set_mode("/slow", "hang")
    slow = http.client.HTTPConnection("127.0.0.1", http_receiver.port, timeout=1)
    try:
        slow.request("POST", "/slow", body=b"{}")
        http_receiver.wait(1, path="/slow")
        start = time.monotonic()
        assert send(http_receiver, "POST", "/fast", b"{}")[::2] == (200, b"ok")
        assert time.monotonic() - start < 0.5
        with pytest.raises(TimeoutError):
            slow.getresponse()
    finally:
        slow.close()


def test_http_hang_ends_when_the_mode_changes(http_receiver):
    http_receiver.set_mode("/slow", "hang")
    answers = []
    client = threading.Thread(
        target=lambda: answers.append(send(http_receiver, "POST", "/slow", b"{}")))
    client.start()
    http_receiver.wait(1, path="/slow")
    time.sleep(0.2)
    assert answers == []
    http_receiver.set_mode("/slow", "fail")
    client.join(5)
    assert [a[::2] for a in answers] == [(500, b"rollup_error")]


def test_http_stop_returns_promptly_with_a_hanging_request(http_receiver):
    http_receiver.set_mode("/slow", "hang")
    slow = http.client.HTTPConnection("127.0.0.1", http_receiver.port, timeout=5)
    try:
        slow.request("POST", "/slow", body=b"{}")
        http_receiver.wait(1, path="/slow")
        handlers = [t for t in threading.enumerate()
                    if "process_request" in t.name]
        assert handlers
        start = time.monotonic()
        http_receiver.stop()
        assert time.monotonic() - start < 1
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            slow.getresponse()
        for t in handlers:
            t.join(1)
            assert not t.is_alive()
    finally:
        slow.close()
    with pytest.raises(ConnectionRefusedError):
        send(http_receiver, "GET", "/")


def test_http_stop_closes_idle_keep_alive_connections(http_receiver):
    conn = http.client.HTTPConnection("127.0.0.1", http_receiver.port, timeout=5)
    try:
        conn.request("GET", "/first")
        r = conn.getresponse()
        assert (r.status, r.read(), r.will_close) == (200, b"ok", False)
        http_receiver.stop()
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            conn.request("GET", "/second")
            conn.getresponse()
    finally:
        conn.close()
    assert [r.path for r in http_receiver.requests()] == ["/first"]


def test_http_slow_answers_after_the_delay_and_not_before(http_receiver):
    http_receiver.set_mode("/slow", "slow:0.8")
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        send(http_receiver, "GET", "/slow", timeout=0.4)
    assert time.monotonic() - start < 0.8
    # The held request does not hold up other paths.
    fast = send(http_receiver, "GET", "/fast", timeout=0.3)
    assert fast[::2] == (200, b"ok")
    start = time.monotonic()
    status, headers, body = send(http_receiver, "GET", "/slow", timeout=5)
    assert 0.8 <= time.monotonic() - start < 2
    assert (status, body) == (200, b"ok")
    assert headers["Content-Type"] == "text/plain"
    modes = [r.mode for r in http_receiver.requests("/slow")]
    assert modes == ["slow:0.8"] * 2


def test_http_slow_ends_early_when_the_mode_changes(http_receiver):
    http_receiver.set_mode("/slow", "slow:30")
    answers = []
    client = threading.Thread(target=lambda: answers.append(
        send(http_receiver, "GET", "/slow", timeout=10)))
    start = time.monotonic()
    client.start()
    http_receiver.wait(1, path="/slow")
    time.sleep(0.2)
    assert answers == []
    http_receiver.set_mode("/slow", "body:changed")
    client.join(5)
    assert [a[::2] for a in answers] == [(200, b"changed")]
    assert time.monotonic() - start < 2


def test_http_stop_returns_promptly_with_a_slow_request(http_receiver):
    http_receiver.set_mode("/slow", "slow:30")
    slow = http.client.HTTPConnection("127.0.0.1", http_receiver.port, timeout=5)
    try:
        slow.request("GET", "/slow")
        http_receiver.wait(1, path="/slow")
        start = time.monotonic()
        http_receiver.stop()
        assert time.monotonic() - start < 1
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            slow.getresponse()
    finally:
        slow.close()


@pytest.mark.parametrize("mode", ["slow:0", "slow:1.5", "close", "body:",
                                  "body:a: b"])
def test_http_new_modes_are_accepted(http_receiver, mode):
    http_receiver.set_mode("/hook", mode)
    assert http_receiver.mode("/hook") == mode


@pytest.mark.parametrize("mode", ["slow:", "slow:soon", "slow:-1", "slow:nan",
                                  "slow:inf", "closed", "body", "body:\udcff"])
def test_http_malformed_new_modes_are_refused(http_receiver, mode):
    with pytest.raises(ValueError):
        http_receiver.set_mode("/hook", mode)
    assert http_receiver.mode("/hook") == "ok"


def test_http_close_records_the_request_and_sends_no_bytes(http_receiver):
    http_receiver.set_mode("/gone", "close")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        send(http_receiver, "POST", "/gone", b"probe")
    [r] = http_receiver.wait(1, path="/gone")
    assert (r.method, r.body, r.mode) == ("POST", b"probe", "close")
    # Not a byte comes back, not even 100 Continue to a client that expects it.
    with socket.create_connection(("127.0.0.1", http_receiver.port),
                                  timeout=5) as raw:
        raw.sendall(b"POST /gone HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n{}")
        assert raw.recv(1024) == b""
    bodies = [r.body for r in http_receiver.requests("/gone")]
    assert bodies == [b"probe", b"{}"]
    assert send(http_receiver, "GET", "/other")[::2] == (200, b"ok")


def test_http_body_mode_answers_200_with_the_text(http_receiver):
    http_receiver.set_mode("/health", "body:status: green \u2713")
    status, headers, body = send(http_receiver, "GET", "/health")
    assert (status, body) == (200, "status: green \u2713".encode("utf-8"))
    assert headers["Content-Length"] == str(len(body))
    http_receiver.set_mode("/health", "body:")
    assert send(http_receiver, "GET", "/health")[::2] == (200, b"")
    assert send(http_receiver, "GET", "/other")[::2] == (200, b"ok")


# ---------------------------------------------------------------- signatures

def test_hmac_sha256_matches_the_github_test_vector():
    mac = hmac.new(b"It's a Secret to Everybody", b"Hello, World!", hashlib.sha256)
    assert mac.hexdigest() == \
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def signed_request(receiver, body, header):
    send(receiver, "POST", "/signed", body, {"X-Tocsin-Signature": header})
    return receiver.requests("/signed")[-1]


def test_verify_signature_accepts_a_valid_signature(http_receiver):
    body = b'{"event":"incident.triggered","incident":1}'
    t = int(time.time())
    r = signed_request(http_receiver, body, f"t={t},v1={signature(body, SECRET, t)}")
    assert verify_signature(r, SECRET)
    rotated = f"t={t},v1={signature(body, 'old', t)},v1={signature(body, SECRET, t)}"
    assert verify_signature(signed_request(http_receiver, body, rotated), SECRET)


def test_verify_signature_rejects_wrong_secret_tampered_body_and_old_time(
        http_receiver):
    body = b'{"event":"incident.triggered","incident":1}'
    t = int(time.time())
    good = f"t={t},v1={signature(body, SECRET, t)}"
    assert not verify_signature(signed_request(http_receiver, body, good), "other")
    tampered = body.replace(b"1}", b"2}")
    assert not verify_signature(signed_request(http_receiver, tampered, good), SECRET)
    old = t - 600
    stale = f"t={old},v1={signature(body, SECRET, old)}"
    assert not verify_signature(signed_request(http_receiver, body, stale), SECRET)
    assert verify_signature(signed_request(http_receiver, body, stale), SECRET,
                            max_skew=900)
    send(http_receiver, "POST", "/unsigned", body)
    assert not verify_signature(http_receiver.requests("/unsigned")[0], SECRET)


# ---------------------------------------------------------------- TCP

def tcp_client(listener, timeout=2):
    return socket.create_connection(("127.0.0.1", listener.port),
                                    timeout=timeout)


def test_tcp_banner_comes_at_once_and_what_is_sent_is_recorded():
    with TcpListener(banner=b"220 ready\r\n") as listener:
        with tcp_client(listener) as client:
            assert client.recv(1024) == b"220 ready\r\n"
            client.sendall(b"QUIT\r\n")
        assert listener.wait(1) == [b"QUIT\r\n"]
        assert listener.received == [b"QUIT\r\n"]


def test_tcp_reply_comes_once_and_only_after_data(tcp_listener):
    tcp_listener.set_reply(b"PONG\r\n")
    with tcp_client(tcp_listener, timeout=0.3) as client:
        with pytest.raises(TimeoutError):
            client.recv(1024)
        client.settimeout(2)
        client.sendall(b"PING\r\n")
        assert client.recv(1024) == b"PONG\r\n"
        client.sendall(b"again")
        client.settimeout(0.3)
        with pytest.raises(TimeoutError):
            client.recv(1024)
    assert tcp_listener.wait(1) == [b"PING\r\nagain"]


def test_tcp_connections_are_served_at_once_and_counted(tcp_listener):
    tcp_listener.set_banner(b"hi\n")
    first, second = tcp_client(tcp_listener), tcp_client(tcp_listener)
    try:
        assert second.recv(16) == b"hi\n"  # while the first is still open
        assert first.recv(16) == b"hi\n"
        assert tcp_listener.connections == 2
        first.sendall(b"one")
        second.sendall(b"two")
    finally:
        first.close()
        second.close()
    assert tcp_listener.wait(2) == [b"one", b"two"]
    with tcp_client(tcp_listener):
        pass
    assert tcp_listener.wait(3) == [b"one", b"two", b""]
    assert tcp_listener.connections == 3
    with pytest.raises(AssertionError, match=r"at least 4 ended.*3 accepted"):
        tcp_listener.wait(4, timeout=0.2)


def test_tcp_close_refuses_and_reopen_listens_on_the_same_port(tcp_listener):
    port = tcp_listener.port
    tcp_listener.set_banner(b"+\n")
    tcp_listener.set_reply(b"still here")
    held = tcp_client(tcp_listener)
    try:
        assert held.recv(16) == b"+\n"
        tcp_listener.close()
        with pytest.raises(ConnectionRefusedError):
            tcp_client(tcp_listener)
        tcp_listener.close()
        # A connection accepted before close() carries on.
        held.sendall(b"?")
        assert held.recv(16) == b"still here"
        tcp_listener.reopen()
        assert tcp_listener.port == port
        with tcp_client(tcp_listener) as client:
            assert client.recv(16) == b"+\n"
            client.sendall(b"back")
    finally:
        held.close()
    assert tcp_listener.wait(2) == [b"?", b"back"]
    assert tcp_listener.connections == 2


def test_tcp_stop_ends_open_connections_promptly():
    listener = TcpListener(banner=b"x")
    with tcp_client(listener, timeout=5) as client:
        assert client.recv(1) == b"x"
        start = time.monotonic()
        listener.stop()
        assert time.monotonic() - start < 1
        assert client.recv(16) == b""
    with pytest.raises(ConnectionRefusedError):
        tcp_client(listener)
    listener.stop()
    with pytest.raises(RuntimeError):
        listener.reopen()
    assert listener.connections == 1


def test_tcp_banner_and_reply_must_be_bytes(tcp_listener):
    with pytest.raises(TypeError):
        TcpListener(banner="220 ready")
    with pytest.raises(TypeError):
        tcp_listener.set_reply("PONG")


# ---------------------------------------------------------------- processes

def comm(pid):
    return Path(f"/proc/{pid}/comm").read_text().rstrip("\n")


def pids_called(name):
    """The pids whose process name is name, as a process check finds them."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if comm(entry) == name:
                    pids.append(int(entry))
            except OSError:
                pass  # the process ended meanwhile
    return pids


def test_dummy_daemon_has_the_name_and_a_pidfile(dummy_daemon):
    daemon = dummy_daemon("tocsin-probe-15")
    assert daemon.running
    assert comm(daemon.pid) == "tocsin-probe-15"
    assert daemon.pid in pids_called("tocsin-probe-15")
    assert Path(daemon.pidfile).read_text() == f"{daemon.pid}\n"
    first = daemon.pid
    daemon.stop()
    assert not daemon.running
    assert not os.path.exists(f"/proc/{first}")
    assert not os.path.exists(daemon.pidfile)
    assert first not in pids_called("tocsin-probe-15")
    daemon.stop()
    daemon.start()
    assert daemon.running and daemon.pid != first
    assert comm(daemon.pid) == "tocsin-probe-15"
    assert Path(daemon.pidfile).read_text() == f"{daemon.pid}\n"
    assert daemon.start().pid == daemon.pid  # already running: no new process


def test_dummy_daemon_is_reaped_after_a_kill_from_outside(dummy_daemon):
    daemon = dummy_daemon("crashy")
    os.kill(daemon.pid, 9)
    daemon.stop()
    assert not os.path.exists(f"/proc/{daemon.pid}")
    assert not os.path.exists(daemon.pidfile)


@pytest.mark.parametrize("name", ["", "sixteen-chars-xx", "a/b", ".."])
def test_dummy_daemon_refuses_a_name_the_kernel_would_not_show(name):
    with pytest.raises(ValueError):
        DummyDaemon(name)


def test_dummy_daemon_with_block_stops_it_and_removes_its_files():
    with DummyDaemon("tocsin-dummy") as daemon:
        pid, directory = daemon.pid, os.path.dirname(daemon.path)
        assert comm(pid) == "tocsin-dummy"
    assert not os.path.exists(f"/proc/{pid}")
    assert not os.path.exists(directory)


@pytest.fixture
def gone_after_teardown():
    """Paths that must be gone once the later fixtures are torn down."""
    leftovers = []
    yield leftovers
    assert [p for p in leftovers if os.path.exists(p)] == []


def test_dummy_daemon_fixture_stops_everything_it_started(gone_after_teardown,
                                                          dummy_daemon):
    for name in ("first", "second"):
        daemon = dummy_daemon(name)
        gone_after_teardown += [f"/proc/{daemon.pid}", daemon.pidfile,
                                daemon.path]
    assert all(os.path.exists(p) for p in gone_after_teardown)


# ---------------------------------------------------------------- disks

def test_disk_usage_matches_shutil_and_df(tmp_path):
    for path in (tmp_path, "/"):
        usage = disk_usage(path)
        free_percent, free_bytes, free_inodes_percent = usage
        assert (usage.free_percent, usage.free_bytes,
                usage.free_inodes_percent) == tuple(usage)
        assert 0 <= free_percent <= 100
        assert 0 <= free_inodes_percent <= 100
        expected = shutil.disk_usage(path)
        assert abs(free_bytes - expected.free) <= 0.01 * expected.free
        assert abs(free_percent - 100 * expected.free / expected.total) < 1
        if shutil.which("df") is None:
            continue
        df = subprocess.run(["df", "-B1", "--output=avail,size,iavail,itotal",
                             str(path)], capture_output=True, text=True,
                            check=True)
        avail, size, iavail, itotal = df.stdout.splitlines()[1].split()
        assert abs(free_bytes - int(avail)) <= 0.01 * int(avail)
        assert abs(free_percent - 100 * int(avail) / int(size)) < 1
        if itotal.isdigit() and int(itotal) > 0:
            inodes = 100 * int(iavail) / int(itotal)
            assert abs(free_inodes_percent - inodes) < 1
