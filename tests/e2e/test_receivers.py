"""The real mail and webhook receivers of receivers.py, tried with standard
library clients and without the daemon."""
import hashlib
import hmac
import http.client
import json
import smtplib
import threading
import time
from email.message import EmailMessage

import pytest

from receivers import (SmtpReceiver, http_receiver,  # noqa: F401
                       smtp_receiver, verify_signature)

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
