"""Paging people through real receivers: an SMTP server (aiosmtpd) and an HTTP
receiver that checks signatures and can fail, hang or refuse on command. Time moves
with the test clock."""
import re
import time
import urllib.parse

import pytest

from conftest import request, wait_for

KEY = "66666666666666666666666666666666"
CLOCK = {"TOCSIN_TEST_CLOCK": "1"}


def config(smtp, http, rules=None, allow_private=True, extra_users="", smtp_login="",
           timeout="2s"):
    """A daemon whose user alice has every kind of contact method on the receivers."""
    rules = rules or ["{contact: mail, after: 0m}", "{contact: hook, after: 0m}"]
    text = f"""\
server: {{listen: "127.0.0.1:@PORT@", time_zone: UTC}}
storage: {{sqlite: @DB@}}
smtp: {{url: "smtp://127.0.0.1:{smtp.port}", from: "tocsin@example.com"{smtp_login}}}
notify: {{allow_private: {str(allow_private).lower()}, timeout: {timeout}}}
sms_gateway:
  url: "{http.url('/gateway')}"
  body: '{{"to":"{{{{number}}}}","text":"{{{{text}}}}","type":"{{{{type}}}}"}}'
  headers: ["Authorization: Bearer gw-token"]
users:
  - id: alice
    name: Alice Martin
    role: admin
    time_zone: Europe/Paris
    contact_methods:
      - {{id: mail, type: email, address: alice@example.com}}
      - {{id: hook, type: webhook, url: "{http.url('/alice')}", secret: "s3cr3t"}}
      - {{id: chat, type: slack, url: "{http.url('/slack')}"}}
      - {{id: room, type: teams, url: "{http.url('/teams')}"}}
      - {{id: phone, type: sms, address: "+15550100"}}
      - {{id: call, type: voice, address: "+15550101"}}
    notification_rules:
{chr(10).join('      - ' + r for r in rules)}
  - {{id: bob, role: responder}}
{extra_users}escalation_policies:
  - id: p
    levels:
      - {{targets: [user:alice], escalate_after: 30m}}
services:
  - {{id: web, name: Public website, escalation_policy: p, integration_keys: [{KEY}]}}
"""
    # the harness fills {port} and {db} with str.format: every other brace doubles
    text = text.replace("{", "{{").replace("}", "}}")
    return text.replace("@PORT@", "{port}").replace("@DB@", "{db}")


@pytest.fixture
def paged(make_tocsin, smtp_receiver, http_receiver):
    """make(rules=..., ...) starts tocsin on the receivers; returns it."""
    def make(**kw):
        env = {**CLOCK, **kw.pop("env", {})}
        return make_tocsin(config(smtp_receiver, http_receiver, **kw), env=env)
    return make


def trigger(t, dedup="a", summary="HTTP 500 on /checkout", severity="critical"):
    r = t.enqueue(key=KEY, dedup=dedup, summary=summary, severity=severity)
    assert r.status == 202, r


def notifications(t, n=1):
    r = t.get(f"/api/incidents/{n}/notifications")
    assert r.status == 200, r
    return r.json()["notifications"]


def log_of(t, n=1, types=("notify", "notify_failed")):
    return [e for e in t.show(n)["log"] if e["type"] in types]


def settle():
    time.sleep(1.2)


def test_email_has_text_html_links_and_thread_headers(paged, smtp_receiver):
    t = paged(rules=["{contact: mail, after: 0m}"])
    trigger(t)
    msg = smtp_receiver.wait(1)[0]
    assert msg.rcpt_tos == ["alice@example.com"] and msg.mail_from == "tocsin@example.com"
    m = msg.message
    assert m["Subject"] == "[tocsin] #1 SEV-2 web: HTTP 500 on /checkout"
    assert m["Message-ID"] == "<notification-1@example.com>"
    assert m["In-Reply-To"] == "<incident-1@example.com>" == m["References"]
    text = m.get_body(("plain",)).get_content()
    html = m.get_body(("html",)).get_content()
    assert "HTTP 500 on /checkout" in text and "Public website" in text
    assert re.search(r"Acknowledge: http://127\.0\.0\.1:\d+/act/\S+", text)
    assert "Acknowledge</a>" in html and "Resolve</a>" in html
    # a second incident's mail names its own thread; a re-page of the same one the same
    trigger(t, dedup="b")
    second = smtp_receiver.wait(2)[1].message
    assert second["References"] == "<incident-2@example.com>"
    entry = log_of(t)[-1]
    assert entry["type"] == "notify" and entry["message"] == "alice paged by email 'mail' (attempt 1)"
    # ASCII bodies go as they are; anything else is encoded and reads back the same
    assert "Content-Transfer-Encoding: 7bit" in msg.raw.decode()
    trigger(t, dedup="c", summary="Café en panne \u2615")
    third = smtp_receiver.wait(3)[2]
    assert third.message["Subject"] == "[tocsin] #3 SEV-2 web: Café en panne \u2615"
    assert "Café en panne \u2615" in third.message.get_body(("plain",)).get_content()
    assert "Content-Transfer-Encoding: base64" in third.raw.decode()


def test_webhook_is_signed_idempotent_and_carries_the_incident(paged, http_receiver):
    from receivers import verify_signature
    t = paged(rules=["{contact: hook, after: 0m}"])
    trigger(t)
    req = http_receiver.wait(1, "/alice")[0]
    assert verify_signature(req, "s3cr3t")
    assert not verify_signature(req, "wrong")
    assert req.header("Idempotency-Key") == "tocsin-notification-1"
    assert req.header("Content-Type") == "application/json"
    doc = req.json()
    assert doc["event"]["type"] == "incident.page" and doc["event"]["user"] == "alice"
    assert doc["incident"]["number"] == 1 and doc["incident"]["status"] == "triggered"
    assert doc["incident"]["assigned_to"] == ["alice"]
    assert [e["type"] for e in doc["incident"]["log"]][:2] == ["trigger", "escalate"]
    assert doc["links"]["acknowledge"].startswith(f"http://127.0.0.1:{t.port}/act/1.ack.")


def test_chat_and_gateway_messages(paged, http_receiver):
    t = paged(rules=["{contact: chat, after: 0m}", "{contact: room, after: 0m}",
                     "{contact: phone, after: 0m}", "{contact: call, after: 0m}"])
    trigger(t)
    slack = http_receiver.wait(1, "/slack")[0].json()
    assert slack["text"] == "[tocsin] #1 SEV-2 web: HTTP 500 on /checkout"
    assert "|Acknowledge>" in slack["blocks"][0]["text"]["text"]
    card = http_receiver.wait(1, "/teams")[0].json()["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert [a["title"] for a in card["content"]["actions"]] == ["Open incident", "Acknowledge",
                                                                "Resolve"]
    texts = http_receiver.wait(2, "/gateway")
    assert all(r.header("Authorization") == "Bearer gw-token" for r in texts)
    sms = sorted((r.json() for r in texts), key=lambda d: d["type"])
    assert [(d["to"], d["type"]) for d in sms] == [("+15550100", "sms"), ("+15550101", "voice")]
    assert sms[0]["text"].startswith("tocsin #1 SEV-2 web: HTTP 500 on /checkout Ack: http")


def test_rule_delays_count_from_the_assignment(paged, smtp_receiver, http_receiver):
    t = paged(rules=["{contact: mail, after: 0m}", "{contact: hook, after: 5m}"])
    trigger(t)
    smtp_receiver.wait(1)
    t.advance("290s")
    settle()
    assert http_receiver.requests("/alice") == []
    t.advance("15s")
    http_receiver.wait(1, "/alice")


def test_low_urgency_skips_high_only_rules(paged, smtp_receiver, http_receiver):
    t = paged(rules=["{contact: mail, after: 0m}", "{contact: hook, after: 0m, urgency: high}"])
    trigger(t, severity="warning")       # warning: low urgency
    smtp_receiver.wait(1)
    settle()
    assert http_receiver.requests("/alice") == []
    assert [n["contact"] for n in notifications(t)] == ["mail"]


def test_ack_between_rules_stops_the_rest(paged, smtp_receiver, http_receiver):
    t = paged(rules=["{contact: mail, after: 0m}", "{contact: hook, after: 5m}",
                     "{contact: phone, after: 10m}"])
    trigger(t)
    smtp_receiver.wait(1)
    assert t.cli("ack", "1").returncode == 0
    t.advance("15m")
    settle()
    assert http_receiver.requests() == [] and len(smtp_receiver.messages) == 1
    assert [n["status"] for n in notifications(t)] == ["sent", "cancelled", "cancelled"]


def test_5xx_is_retried_until_the_provider_recovers(paged, http_receiver):
    t = paged(rules=["{contact: hook, after: 0m}"])
    http_receiver.set_mode("/alice", "fail")
    trigger(t)
    http_receiver.wait(1, "/alice")
    for attempt in range(2, 4):         # backoff 1 s, then 2 s (+-20%)
        t.advance("3s")
        http_receiver.wait(attempt, "/alice")
    http_receiver.set_mode("/alice", "ok")
    t.advance("6s")
    wait_for(lambda: notifications(t)[0]["status"] == "sent", what="delivered after recovery")
    settle()
    ok = [r for r in http_receiver.requests("/alice") if r.mode == "ok"]
    assert len(ok) == 1, "delivered once"
    keys = {r.header("Idempotency-Key") for r in http_receiver.requests("/alice")}
    assert keys == {"tocsin-notification-1"}, "one key across retries"
    n = notifications(t)[0]
    assert n["attempts"] == 4
    log = log_of(t)
    assert [e["type"] for e in log] == ["notify_failed"] * 3 + ["notify"]
    assert re.match(r"webhook 'hook' of alice failed: HTTP 500 rollup_error \(attempt 1\); "
                    r"trying again in [12]s", log[0]["message"])
    assert log[-1]["message"] == "alice paged by webhook 'hook' (attempt 4)"


def test_a_hanging_provider_delays_nobody_else(paged, smtp_receiver, http_receiver):
    t = paged(rules=["{contact: hook, after: 0m}", "{contact: chat, after: 0m}",
                     "{contact: mail, after: 0m}"], timeout="2s")
    http_receiver.set_mode("/alice", "hang")
    t0 = time.time()
    trigger(t)
    http_receiver.wait(1, "/slack")
    smtp_receiver.wait(1)
    assert time.time() - t0 < 1.5, "the others were not held up by the hang"
    # the hung attempt is abandoned at the timeout and retried
    wait_for(lambda: any(e["type"] == "notify_failed" for e in log_of(t)), timeout=8,
             what="the hung attempt given up")
    failed = [e for e in log_of(t) if e["type"] == "notify_failed"][0]["message"]
    assert "timed out" in failed.lower() or "timeout" in failed.lower(), failed
    http_receiver.set_mode("/alice", "ok")
    t.advance("5s")
    wait_for(lambda: notifications(t)[0]["status"] == "sent", what="hook delivered later")


def test_400_moves_on_to_the_next_contact_method(paged, http_receiver):
    t = paged(rules=["{contact: hook, after: 0m}"])
    http_receiver.set_mode("/alice", "bad")
    trigger(t)
    http_receiver.wait(1, "/alice")
    # the contact after 'hook' in alice's list is 'chat'
    http_receiver.wait(1, "/slack")
    settle()
    assert len(http_receiver.requests("/alice")) == 1, "a 4xx is not retried"
    log = log_of(t)
    assert log[0]["message"] == ("webhook 'hook' of alice failed: HTTP 400 invalid_payload "
                                 "(attempt 1): permanent")
    assert log[1]["message"] == "trying alice's next contact method: slack 'chat'"
    assert [(n["contact"], n["status"]) for n in notifications(t)] == [("hook", "failed"),
                                                                       ("chat", "sent")]


def test_private_targets_are_refused_without_the_switch(paged, http_receiver, smtp_receiver):
    t = paged(rules=["{contact: hook, after: 0m}", "{contact: mail, after: 0m}",
                     "{contact: chat, after: 0m}"], allow_private=False)
    trigger(t)
    smtp_receiver.wait(1)        # the server's own SMTP relay is not a user's URL
    wait_for(lambda: any("refused" in e["message"] for e in log_of(t)), what="refusal")
    settle()
    for path in ("/alice", "/slack", "/teams"):
        assert http_receiver.requests(path) == [], path
    # each refusal handed on to the next contact method, down to the SMS gateway (the
    # administrator's own relay, not a user's URL)
    wait_for(lambda: http_receiver.requests("/gateway"), what="the page by text")
    msg = [e for e in log_of(t) if "refused" in e["message"]][0]["message"]
    assert "refused to connect to private address 127.0.0.1 (notify.allow_private is false)" \
        in msg


def test_a_name_that_resolves_to_a_private_address_is_refused_too(make_tocsin, smtp_receiver,
                                                                   http_receiver):
    text = config(smtp_receiver, http_receiver, rules=["{contact: hook, after: 0m}"],
                  allow_private=False)
    text = text.replace(f"http://127.0.0.1:{http_receiver.port}/alice",
                        f"http://localhost:{http_receiver.port}/alice")
    t = make_tocsin(text, env=CLOCK)
    trigger(t)
    wait_for(lambda: any("refused" in e["message"] for e in log_of(t)), what="refusal")
    settle()
    assert http_receiver.requests("/alice") == []
    assert [n["status"] for n in notifications(t)][0] == "failed"


def test_kill9_with_pages_due_delivers_each_after_restart(paged, http_receiver, smtp_receiver):
    t = paged(rules=["{contact: mail, after: 1m}", "{contact: hook, after: 1m}"])
    for i in range(5):
        trigger(t, dedup=f"k{i}")
    off = t.advance("30s")["offset_ms"]
    t.kill9()
    t.env["TOCSIN_TEST_CLOCK_OFFSET"] = f"{off + 60_000}ms"   # back after the rules fell due
    t.start()
    smtp_receiver.wait(5)
    http_receiver.wait(5, "/alice")
    settle()
    keys = [r.header("Idempotency-Key") for r in http_receiver.requests("/alice")]
    assert len(keys) == len(set(keys)) == 5, "each once"
    assert sorted(m.message["Message-ID"] for m in smtp_receiver.messages) == sorted(
        {m.message["Message-ID"] for m in smtp_receiver.messages})


def test_downtime_across_two_rule_delays_sends_each_once_after_restart(
        paged, smtp_receiver, http_receiver):
    t = paged(rules=["{contact: mail, after: 5m}", "{contact: hook, after: 10m}"])
    trigger(t)
    t.advance("1m")
    t.stop()
    t.env["TOCSIN_TEST_CLOCK_OFFSET"] = "31m"        # down from +1m to +31m
    started = time.time()
    t.start()
    smtp_receiver.wait(1)
    http_receiver.wait(1, "/alice")
    assert time.time() - started < 5, "within a cycle of the start"
    t.advance("30m")
    settle()
    assert len(smtp_receiver.messages) == 1 and len(http_receiver.requests("/alice")) == 1
    assert [n["status"] for n in notifications(t)] == ["sent", "sent"]


def test_kill9_between_the_providers_2xx_and_our_commit_sends_twice_at_most(
        paged, http_receiver):
    t = paged(rules=["{contact: hook, after: 0m}"],
              env={"TOCSIN_TEST_KILL_AT": "notify.answered"})
    trigger(t)
    assert t.proc.wait(15) == -9
    t.proc = None
    t._log.close()
    t.env.pop("TOCSIN_TEST_KILL_AT")
    t.start()
    wait_for(lambda: notifications(t)[0]["status"] == "sent", what="sent after restart")
    settle()
    got = http_receiver.requests("/alice")
    assert len(got) == 2, "the one duplicate the crash window allows"
    assert {r.header("Idempotency-Key") for r in got} == {"tocsin-notification-1"}, \
        "and the receiver can tell it is one"


def test_one_click_ack_from_the_link_in_a_mail(paged, smtp_receiver):
    t = paged(rules=["{contact: mail, after: 0m}"])
    trigger(t)
    text = smtp_receiver.wait(1)[0].message.get_body(("plain",)).get_content()
    link = re.search(r"Acknowledge: (\S+)", text).group(1)
    path = urllib.parse.urlsplit(link).path
    page = request(t.port, "GET", path)
    assert page.status == 200 and "Acknowledge incident #1?" in page.body
    assert 'method="post"' in page.body and "HTTP 500 on /checkout" in page.body
    assert t.show(1)["status"] == "triggered", "GET changes nothing"
    done = request(t.port, "POST", path)
    assert done.status == 200 and "Incident #1 acknowledged" in done.body
    inc = t.show(1)
    assert inc["status"] == "acknowledged"
    assert inc["log"][-1]["type"] == "ack" and inc["log"][-1]["actor"] == "alice"
    again = request(t.port, "POST", path)
    assert again.status == 410 and "used already" in again.body
    forged = request(t.port, "POST", path[:-1] + ("0" if path[-1] != "0" else "1"))
    assert forged.status == 404
    # past 24 hours a link is dead
    resolve = re.search(r"Resolve: +(\S+)", text).group(1)
    t.advance("25h")
    late = request(t.port, "POST", urllib.parse.urlsplit(resolve).path)
    assert late.status == 410 and "expired" in late.body
    assert t.show(1)["status"] == "acknowledged"


def test_texts_are_throttled_and_the_rest_bundled(paged, http_receiver):
    t = paged(rules=["{contact: phone, after: 0m}"])
    for i in range(7):
        trigger(t, dedup=f"t{i}", summary=f"disk full {i}")
        time.sleep(0.05)
    wait_for(lambda: len(http_receiver.requests("/gateway")) == 5, what="five texts")
    settle()
    assert len(http_receiver.requests("/gateway")) == 5
    held = [n for i in (6, 7) for n in notifications(t, i)]
    assert [n["status"] for n in held] == ["bundled", "bundled"]
    t.advance("15m")
    bundle = http_receiver.wait(6, "/gateway")[5].json()
    assert bundle["to"] == "+15550100"
    assert "2 pages were held back (at most 5 texts per 15m): #6 disk full 5; #7 disk full 6" \
        in bundle["text"]
    wait_for(lambda: notifications(t, 7)[0]["status"] == "sent", what="bundled rows sent")
    assert "in a bundle of 2 held-back pages" in log_of(t, 7)[-1]["message"]


def test_smtp_login(make_tocsin, http_receiver):
    from receivers import SmtpReceiver
    with SmtpReceiver(username="tocsin", password="pw") as smtp:
        t = make_tocsin(config(smtp, http_receiver, rules=["{contact: mail, after: 0m}"],
                               smtp_login=', username: tocsin, password: pw'), env=CLOCK)
        trigger(t)
        assert smtp.wait(1)[0].login == "tocsin"


def test_shift_notice_when_a_shift_begins(make_tocsin, smtp_receiver, http_receiver):
    base = config(smtp_receiver, http_receiver, rules=["{contact: mail, after: 0m}"])
    # bob's turn begins at the next UTC midnight; alice holds the day before
    text = base.replace("escalation_policies:", """schedules:
  - id: days
    name: Day shift
    time_zone: UTC
    layers:
      - {{name: d, start: "2026-01-01T00:00", turn: 1d, users: [alice, alice2]}}
escalation_policies:""").replace("  - {{id: bob, role: responder}}\n", """  - {{id: bob, role: responder}}
  - id: alice2
    contact_methods: [{{id: mail, type: email, address: alice2@example.com}}]
""")
    t = make_tocsin(text, env=CLOCK)
    settle()
    before = len(smtp_receiver.messages)   # a shift that began just now is announced too
    now = t.get("/api/info").json()["now"]
    r = t.get("/api/oncall?schedule=days").json()["oncall"][0]
    from test_escalation import iso_ms
    off = t.advance(f"{iso_ms(r['end']) - iso_ms(now) + 1000}ms")["offset_ms"]
    got = smtp_receiver.wait(before + 1)[before]
    who = "alice2@example.com" if r["user"] == "alice" else "alice@example.com"
    assert got.rcpt_tos == [who]
    body = got.message.get_body(("plain",)).get_content()
    assert "You are on call for Day shift until" in body
    t.stop()
    t.env["TOCSIN_TEST_CLOCK_OFFSET"] = f"{off}ms"
    t.start()
    t.advance("1m")
    settle()
    assert len(smtp_receiver.messages) == before + 1, "one notice per shift, across restarts"


def test_redirects_are_not_followed(paged, http_receiver):
    t = paged(rules=["{contact: hook, after: 0m}"])
    http_receiver.set_mode("/alice", "status:302")
    trigger(t)
    http_receiver.wait(1, "/slack")      # a 3xx is an answer: on to the next method
    settle()
    assert len(http_receiver.requests("/alice")) == 1
    assert "HTTP 302" in log_of(t)[0]["message"] and "permanent" in log_of(t)[0]["message"]
