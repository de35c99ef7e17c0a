"""Real receivers for the mail and webhook deliveries that tocsin makes in the
end-to-end tests.

SmtpReceiver is an SMTP server (aiosmtpd) and HttpReceiver an HTTP/1.1 server
(http.server); both listen on a free loopback port, record everything that
arrives, and let a test wait until enough has arrived. HttpReceiver answers
each path in a mode the test chooses: success, server error, client error, a
chosen status, or no answer at all. verify_signature checks the
X-Tocsin-Signature header that tocsin puts on its webhooks. The fixtures
smtp_receiver and http_receiver start a receiver for one test and stop it
afterwards.
"""
import email
import email.policy
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Optional

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

SIGNATURE_HEADER = "X-Tocsin-Signature"
HANG_LIMIT = 120  # seconds a "hang" request is held at most


def free_port():
    """Return a loopback TCP port that is free at the moment of the call."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- SMTP

@dataclass
class SmtpMessage:
    """One message as the SMTP receiver got it.

    raw is the DATA as it came over the wire, so its lines end in CRLF; message
    is raw parsed with email.policy.default, and the text of a part that is not
    base64-encoded keeps those CRLF line ends.
    """
    mail_from: str
    rcpt_tos: list
    raw: bytes
    message: EmailMessage
    at: float
    login: Optional[str] = None

    def __repr__(self):
        return (f"<mail from {self.mail_from!r} to {self.rcpt_tos!r}"
                f" subject {self.message.get('Subject')!r}>")


class _SmtpHandler:
    """aiosmtpd handler hooks; records into the owning SmtpReceiver."""

    def __init__(self, receiver):
        self.receiver = receiver

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.receiver.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        login = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode("utf-8", "replace")
        self.receiver._record(SmtpMessage(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            raw=raw,
            message=email.message_from_bytes(raw, policy=email.policy.default),
            at=time.time(),
            login=login,
        ))
        return "250 OK"


class SmtpReceiver:
    """A real SMTP server on 127.0.0.1 that records every message it accepts.

    Without credentials it takes plain SMTP with neither TLS nor AUTH. With
    username and password it offers AUTH PLAIN and LOGIN over the unencrypted
    connection, rejects other credentials, and refuses mail from a session that
    has not authenticated (530).
    """

    def __init__(self, username=None, password=None):
        self.username = username
        self.password = password
        self.messages = []
        self._cond = threading.Condition()
        self.port = free_port()
        kwargs = {}
        if username is not None:
            kwargs = {"authenticator": self._authenticate,
                      "auth_require_tls": False}
        self._controller = Controller(_SmtpHandler(self), hostname="127.0.0.1",
                                      port=self.port, **kwargs)
        self._controller.start()

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and hmac.compare_digest(auth_data.login,
                                      self.username.encode("utf-8"))
              and hmac.compare_digest(auth_data.password,
                                      self.password.encode("utf-8")))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def _record(self, message):
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def wait(self, count, timeout=15):
        """Return the messages once at least count have arrived."""
        with self._cond:
            if self._cond.wait_for(lambda: len(self.messages) >= count,
                                   timeout=timeout):
                return list(self.messages)
            got = list(self.messages)
        raise AssertionError(f"expected at least {count} mail message(s) within"
                             f" {timeout} s, got {len(got)}: {got!r}")

    def stop(self):
        """Stop the server; the recorded messages stay readable."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------- HTTP

@dataclass
class HttpRequest:
    """One request as the HTTP receiver got it.

    headers is a plain dict with the header names as the client sent them (a
    repeated header has its values joined by ", "); header(name) looks a
    header up regardless of case.
    """
    method: str
    path: str
    query: str
    headers: dict
    body: bytes
    at: float
    mode: str = "ok"

    def header(self, name, default=None):
        """The value of header name, compared case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return default

    def json(self):
        """The body parsed as JSON."""
        return json.loads(self.body)

    def __repr__(self):
        target = self.path + ("?" + self.query if self.query else "")
        return f"<{self.method} {target} ({self.mode}) {self.body[:200]!r}>"


def _check_mode(mode):
    if mode in ("ok", "fail", "bad", "hang"):
        return
    if mode.startswith("status:"):
        code = mode[len("status:"):]
        if code.isdigit() and 200 <= int(code) <= 599:
            return
    raise ValueError(f"unknown receiver mode {mode!r}")


class _HttpHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.server.receiver._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.receiver._track(self.connection, False)

    def log_message(self, format, *args):
        pass

    def _serve(self):
        receiver = self.server.receiver
        path, _, query = self.path.partition("?")
        headers = {}
        for name, value in self.headers.items():
            headers[name] = (headers[name] + ", " + value
                             if name in headers else value)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        mode = receiver.mode(path)
        receiver._record(HttpRequest(self.command, path, query, headers, body,
                                     time.time(), mode))
        if mode == "hang":
            mode = receiver._hold(path)
            if mode is None:  # stopped, or held for HANG_LIMIT: no answer
                self.close_connection = True
                return
        if mode == "ok":
            self._answer(200, b"ok")
        elif mode == "fail":
            self._answer(500, b"rollup_error")
        elif mode == "bad":
            self._answer(400, b"invalid_payload")
        else:
            self._answer(int(mode[len("status:"):]), b"")

    def _answer(self, status, body):
        self.send_response(status)
        if status in (204, 304):
            self.end_headers()
            return
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that went away mid-request is not a test failure


class HttpReceiver:
    """A real HTTP/1.1 server on 127.0.0.1 that records every request.

    Each path answers in its own mode, "ok" unless set_mode says otherwise:
    "ok" (200, text/plain "ok"), "fail" (500 "rollup_error"), "bad"
    (400 "invalid_payload"), "hang" (no answer until the mode changes or the
    receiver stops, at most HANG_LIMIT seconds) or "status:NNN" (that status,
    empty body). Every request is recorded on arrival, whatever its mode.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._requests = []
        self._modes = {}
        self._connections = set()
        self._stopping = False
        self._server = _HttpServer(("127.0.0.1", 0), _HttpHandler)
        self._server.receiver = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def url(self, path):
        """The absolute URL of path on this receiver."""
        return f"http://127.0.0.1:{self.port}{path}"

    def set_mode(self, path, mode):
        """Answer later requests to path in mode; releases held requests."""
        _check_mode(mode)
        with self._cond:
            self._modes[path] = mode
            self._cond.notify_all()

    def mode(self, path):
        """The mode that path answers in now."""
        with self._cond:
            return self._modes.get(path, "ok")

    def requests(self, path=None):
        """The recorded requests, all of them or those to path."""
        with self._cond:
            return self._matching(path)

    def wait(self, count, path=None, timeout=15):
        """Return the requests (to path) once at least count have arrived."""
        with self._cond:
            if self._cond.wait_for(lambda: len(self._matching(path)) >= count,
                                   timeout=timeout):
                return self._matching(path)
            got = list(self._requests)
        where = f" to {path}" if path is not None else ""
        raise AssertionError(f"expected at least {count} request(s){where} within"
                             f" {timeout} s; all requests that came: {got!r}")

    def stop(self):
        """Release held requests, shut the server down and close its sockets."""
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            self._cond.notify_all()
            connections = list(self._connections)
        self._server.shutdown()
        self._server.server_close()
        for conn in connections:  # idle keep-alive connections end here
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join()

    def _matching(self, path):
        return [r for r in self._requests if path is None or r.path == path]

    def _record(self, request):
        with self._cond:
            self._requests.append(request)
            self._cond.notify_all()

    def _hold(self, path):
        """Block a "hang" request; return the mode to answer in, or None."""
        def released():
            return self._stopping or self._modes.get(path, "ok") != "hang"
        with self._cond:
            if not self._cond.wait_for(released, timeout=HANG_LIMIT):
                return None
            if self._stopping:
                return None
            return self._modes.get(path, "ok")

    def _track(self, conn, is_open):
        with self._cond:
            if is_open:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------- signatures

def verify_signature(request, secret, max_skew=300):
    """Whether request carries a valid X-Tocsin-Signature for secret.

    The header is "t=UNIX,v1=HEX[,v1=HEX...]"; HEX is the lowercase hex
    HMAC-SHA256, keyed with secret, of f"{t}." followed by the body. It is
    valid if any v1 matches and t is within max_skew seconds of now.
    """
    value = request.header(SIGNATURE_HEADER)
    if not value:
        return False
    t = None
    candidates = []
    for part in value.split(","):
        key, _, item = part.strip().partition("=")
        if key == "t" and item.isdigit():
            t = int(item)
        elif key == "v1":
            candidates.append(item)
    if t is None or not candidates or abs(time.time() - t) > max_skew:
        return False
    expected = hmac.new(secret.encode("utf-8"), f"{t}.".encode() + request.body,
                        hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected.encode(), c.encode("utf-8", "replace"))
               for c in candidates)


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def smtp_receiver():
    """A plain SmtpReceiver for one test."""
    receiver = SmtpReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def http_receiver():
    """An HttpReceiver for one test."""
    receiver = HttpReceiver()
    yield receiver
    receiver.stop()
