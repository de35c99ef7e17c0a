"""Real receivers for the mail and webhook deliveries that tocsin makes in the
end-to-end tests, and real targets for its monitoring checks.

SmtpReceiver is an SMTP server (aiosmtpd) and HttpReceiver an HTTP/1.1 server
(http.server); both listen on a free loopback port, record everything that
arrives, and let a test wait until enough has arrived. HttpReceiver answers
each path in a mode the test chooses: success, server error, client error, a
chosen status, a chosen body, a late answer, no answer at all, or a closed
connection. verify_signature checks the X-Tocsin-Signature header that tocsin
puts on its webhooks. The fixtures smtp_receiver and http_receiver start a
receiver for one test and stop it afterwards.

TcpListener is a plain TCP server with an optional banner and reply that can
stop and resume listening on its port. DummyDaemon is a long-running process
with a chosen process name and a pidfile. disk_usage gives the free space and
free inodes of a file system as a disk check sees them. The fixtures
tcp_listener and dummy_daemon clean up after one test.
"""
import email
import email.policy
import hashlib
import hmac
import http.server
import json
import math
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from contextlib import ExitStack
from dataclasses import dataclass
from email.message import EmailMessage
from typing import NamedTuple, Optional

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
    if mode in ("ok", "fail", "bad", "hang", "close"):
        return
    if mode.startswith("status:"):
        code = mode[len("status:"):]
        if code.isdigit() and 200 <= int(code) <= 599:
            return
    if mode.startswith("slow:"):
        try:
            seconds = float(mode[len("slow:"):])
        except ValueError:
            seconds = -1.0
        if math.isfinite(seconds) and seconds >= 0:
            return
    if mode.startswith("body:"):
        mode.encode("utf-8")  # a ValueError if the text cannot be sent
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

    def handle_expect_100(self):
        path = self.path.partition("?")[0]
        if self.server.receiver.mode(path) == "close":
            return True  # "close" sends nothing, not even 100 Continue
        return super().handle_expect_100()

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
        while mode == "hang" or mode.startswith("slow:"):
            if mode == "hang":
                mode = receiver._hold(path)
            else:
                mode = receiver._delay(path, mode)
            if mode is None:  # stopped, or held for HANG_LIMIT: no answer
                self.close_connection = True
                return
        if mode == "close":  # the request is read and recorded; no answer
            self.close_connection = True
            return
        if mode == "ok":
            self._answer(200, b"ok")
        elif mode.startswith("body:"):
            self._answer(200, mode[len("body:"):].encode("utf-8"))
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

    Three more modes serve the monitoring checks. "body:TEXT" answers 200
    with TEXT, encoded as UTF-8, as the text/plain body. "slow:SECONDS" (a
    decimal number, such as "slow:0.8") waits that long and then answers 200
    "ok"; like "hang", it ends early when the mode of the path changes, and
    then answers in the new mode, or when the receiver stops, and then closes
    the connection without an answer. "close" reads the request and closes
    the connection without sending a single byte, so the client sees an empty
    reply.
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

    def _delay(self, path, mode):
        """Hold a "slow:SECONDS" request; return the mode to answer in.

        The answer is "ok" once the time is up, the new mode of path if it
        changes first, and None if the receiver stops first.
        """
        def interrupted():
            return self._stopping or self._modes.get(path, "ok") != mode
        with self._cond:
            if not self._cond.wait_for(interrupted,
                                       timeout=float(mode[len("slow:"):])):
                return "ok"
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


# ---------------------------------------------------------------- TCP

def _optional_bytes(value, what):
    if value is not None and not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{what} must be bytes or None,"
                        f" not {type(value).__name__}")
    return None if value is None else bytes(value)


class TcpListener:
    """A real TCP server on 127.0.0.1 that records what each connection sends.

    Every connection is served in its own thread. It gets the banner at once,
    if there is one; then everything the client sends is recorded until the
    client closes. If a reply is set, it is sent once per connection, as soon
    as the first data from the client has arrived. The server keeps its side
    of a connection open until the client closes it or the listener stops.

    connections is the number of connections accepted so far and received the
    bytes that each of them sent, in the order they were accepted. close()
    stops listening, so that a new connection is refused, and reopen() listens
    again on the same port; connections already accepted carry on meanwhile.
    stop() ends everything.
    """

    def __init__(self, banner=None):
        self._banner = _optional_bytes(banner, "banner")
        self._reply = None
        self._cond = threading.Condition()
        self._received = []
        self._ended = 0
        self._open = set()
        self._threads = []
        self._stopped = False
        self._listener = None
        self.port = 0
        self._listen()

    @property
    def connections(self):
        """How many connections have been accepted so far."""
        with self._cond:
            return len(self._received)

    @property
    def received(self):
        """The bytes received so far on each connection, oldest first."""
        with self._cond:
            return list(self._received)

    def set_banner(self, banner):
        """Greet later connections with banner (bytes), or nothing if None."""
        self._banner = _optional_bytes(banner, "banner")

    def set_reply(self, reply):
        """Answer the first data of each connection with reply, if not None."""
        self._reply = _optional_bytes(reply, "reply")

    def wait(self, count, timeout=15):
        """Return received once at least count connections have ended."""
        with self._cond:
            if self._cond.wait_for(lambda: self._ended >= count,
                                   timeout=timeout):
                return list(self._received)
            accepted, ended = len(self._received), self._ended
            got = list(self._received)
        raise AssertionError(f"expected at least {count} ended TCP"
                             f" connection(s) within {timeout} s; {accepted}"
                             f" accepted, {ended} ended, received {got!r}")

    def close(self):
        """Stop listening, so that new connections to port are refused."""
        if self._listener is None:
            return
        sock, closing, thread = self._listener
        self._listener = None
        closing.set()
        thread.join()
        sock.close()

    def reopen(self):
        """Listen again on the same port after close()."""
        if self._stopped:
            raise RuntimeError("the TCP listener has been stopped")
        if self._listener is None:
            self._listen()

    def stop(self):
        """Close the port and every connection; received stays readable."""
        self.close()
        with self._cond:
            self._stopped = True
            sockets = list(self._open)
            threads = list(self._threads)
        for conn in sockets:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in threads:
            thread.join(5)

    def _listen(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            sock.listen(64)
        except OSError:
            sock.close()
            raise
        sock.settimeout(0.05)  # how often _accept looks at closing
        self.port = sock.getsockname()[1]
        closing = threading.Event()
        thread = threading.Thread(target=self._accept, args=(sock, closing),
                                  daemon=True)
        self._listener = (sock, closing, thread)
        thread.start()

    def _accept(self, sock, closing):
        while not closing.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(HANG_LIMIT)
            with self._cond:
                index = len(self._received)
                self._received.append(b"")
                self._open.add(conn)
                thread = threading.Thread(target=self._serve,
                                          args=(conn, index), daemon=True)
                self._threads.append(thread)
                self._cond.notify_all()
            thread.start()

    def _serve(self, conn, index):
        try:
            banner = self._banner
            if banner:
                conn.sendall(banner)
            replied = False
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                with self._cond:
                    self._received[index] += data
                    self._cond.notify_all()
                reply = self._reply
                if reply is not None and not replied:
                    replied = True
                    conn.sendall(reply)
        except OSError:
            pass  # the client went away, or the listener stopped
        finally:
            with self._cond:
                self._open.discard(conn)
                self._ended += 1
                self._cond.notify_all()
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------- processes

SLEEP = "/bin/sleep"
DUMMY_SECONDS = 3600  # how long a dummy daemon lives if nothing stops it
COMM_LEN = 15  # the longest process name the kernel keeps in /proc/PID/comm


def _kill(process):
    if process.poll() is None:
        process.kill()
    process.wait()


class DummyDaemon:
    """A real long-running process whose kernel process name is name.

    It is a copy of /bin/sleep called name in a temporary directory (path),
    run as "name 3600", so /proc/PID/comm and the process name that ps and
    pgrep show are exactly name; name must be a file name of at most 15
    bytes. The process starts at once. While it runs its pid is in pidfile,
    one decimal line. pid is the pid of the latest process, kept after stop().

    stop() kills the process, waits for it and removes the pidfile; start()
    runs a new process, with a new pid. Both do nothing when there is nothing
    to do. A test that kills the process itself should call stop() afterwards,
    or read running, so that it is reaped and leaves no zombie in /proc.
    Leaving the with block stops the process and removes the directory; a
    process that is never stopped is killed when the object is collected or
    Python exits.
    """

    def __init__(self, name):
        if (not name or "/" in name or "\0" in name or name in (".", "..")
                or len(name.encode("utf-8")) > COMM_LEN):
            raise ValueError(f"not a process name of at most {COMM_LEN} bytes:"
                             f" {name!r}")
        self.name = name
        self._dir = tempfile.TemporaryDirectory(prefix="tocsin-dummy-")
        self.path = os.path.join(self._dir.name, name)
        self.pidfile = os.path.join(self._dir.name, name + ".pid")
        shutil.copy(SLEEP, self.path)
        self._process = None
        self.pid = None
        self.start()

    @property
    def running(self):
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self):
        """Run the process if it is not running; return self."""
        if self.running:
            return self
        self.stop()
        self._process = subprocess.Popen(
            [self.path, str(DUMMY_SECONDS)], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Killed when stopped, and at the latest when this object is
        # collected or the interpreter exits.
        self._reaper = weakref.finalize(self, _kill, self._process)
        self.pid = self._process.pid
        # Popen can return before the kernel has given the new program its
        # name, so wait until /proc shows it.
        deadline = time.monotonic() + 5
        while True:
            with open(f"/proc/{self.pid}/comm") as f:
                comm = f.read().rstrip("\n")
            if comm == self.name:
                break
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.stop()
                raise RuntimeError(f"process {self.pid} is called {comm!r},"
                                   f" not {self.name!r}")
            time.sleep(0.001)
        partial = self.pidfile + ".partial"
        with open(partial, "w") as f:
            f.write(f"{self.pid}\n")
        os.replace(partial, self.pidfile)
        return self

    def stop(self):
        """Kill the process, wait until it is gone and remove the pidfile."""
        if self._process is not None:
            self._reaper()
            self._process = None
        try:
            os.unlink(self.pidfile)
        except FileNotFoundError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self._dir.cleanup()


# ---------------------------------------------------------------- disks

class DiskUsage(NamedTuple):
    """Free space and free inodes of a file system."""
    free_percent: float
    free_bytes: int
    free_inodes_percent: float


def disk_usage(path):
    """The free space of the file system that holds path, as a DiskUsage.

    The numbers are those an unprivileged user gets, as df counts them:
    free_bytes is f_bavail blocks of f_frsize bytes, free_percent is f_bavail
    in percent of f_blocks, and free_inodes_percent is f_favail in percent of
    f_files. A file system that reports no blocks or no inodes at all counts
    as 100 percent free of them.
    """
    st = os.statvfs(path)
    free_percent = 100.0 * st.f_bavail / st.f_blocks if st.f_blocks else 100.0
    free_inodes = 100.0 * st.f_favail / st.f_files if st.f_files else 100.0
    return DiskUsage(free_percent, st.f_bavail * st.f_frsize, free_inodes)


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


@pytest.fixture
def tcp_listener():
    """A TcpListener without banner or reply for one test."""
    listener = TcpListener()
    yield listener
    listener.stop()


@pytest.fixture
def dummy_daemon():
    """A factory make(name) of DummyDaemon; all are stopped after the test."""
    with ExitStack() as stack:
        def make(name):
            return stack.enter_context(DummyDaemon(name))
        yield make
