"""Start real taskrelay processes for a test and talk to them over HTTP.

The binary comes from the environment variable TASKRELAY_BIN (ctest sets it);
without it the harness looks for build/taskrelay in the source tree.

Each test gets a temporary directory that contains the server's database and data
directory, the worker's state directory, the stderr of every process it started
and the files that task programs write. The worker runs with HOME set to that
directory, so the programs in programs/ find their ledger and go-files there.
Its PATH starts with a per-test marker, so the test can find every descendant
of its task programs through /proc/PID/environ.
"""

import hashlib
import http.client
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS_DIR = os.path.join(HERE, "programs")
SOURCE_DIR = os.environ.get("TASKRELAY_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(HERE)))

# Every task kind a test worker runs, mapped to its program in programs/.
KIND_PROGRAMS = {
    "steps": "steps.sh",
    "fail": "fail.sh",
    "slow": "slow.sh",
    "setsid": "setsid.sh",
    "ledger": "ledger.sh",
    "copy": "copy.sh",
    "gated": "gated.sh",
    "artifact": "artifact.sh",
    "hostile": "hostile.sh",
    "signals": "signals.sh",
}

# Request body limit of a server started without --max-body (docs/api.md).
BODY_LIMIT = 4 * 1024 * 1024

START_TIMEOUT_S = 15
STOP_TIMEOUT_S = 5
HTTP_TIMEOUT_S = 15


def binary_path():
    """Return the taskrelay binary under test, or raise if there is none."""
    path = os.environ.get("TASKRELAY_BIN") or os.path.join(SOURCE_DIR, "build", "taskrelay")
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"taskrelay binary not found at {path}: build it with "
            "'cmake -S . -B build -G Ninja && cmake --build build' or set TASKRELAY_BIN")
    return path


def free_port():
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout_s, interval_s=0.05, message="condition"):
    """Call predicate until it returns a truthy value and return that value.

    Raises AssertionError naming message and the last value after timeout_s.
    Exceptions from predicate propagate.
    """
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {message}; "
                                 f"last value: {last!r}")
        time.sleep(interval_s)


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------
# HTTP


class Response:
    """Status, headers, raw body and the body parsed as JSON (None if it is not JSON)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            self.json = None

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def error_code(self):
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), dict):
            return self.json["error"].get("code")
        return None

    def error_message(self):
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), dict):
            return self.json["error"].get("message")
        return None

    def __repr__(self):
        text = self.body[:400].decode("utf-8", "replace")
        return f"<Response {self.status} {text!r}>"


def request(method, url, token=None, body=None, headers=None, timeout_s=HTTP_TIMEOUT_S):
    """Send one HTTP request and return a Response.

    body is sent as JSON unless it is bytes or str, which are sent as they are.
    token adds "Authorization: Bearer TOKEN".
    """
    parts = urllib.parse.urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query

    send_headers = {}
    if token is not None:
        send_headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = json.dumps(body).encode("utf-8")
        send_headers["Content-Type"] = "application/json"
    send_headers.update(headers or {})

    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
    try:
        conn.request(method, path, body=data, headers=send_headers)
        reply = conn.getresponse()
        return Response(reply.status, reply.getheaders(), reply.read())
    finally:
        conn.close()


class RawResult:
    """Outcome of a raw request: the parsed reply, or why there was none."""

    def __init__(self, status=None, body=b"", error=None):
        self.status = status
        self.body = body
        self.error = error
        self.response = Response(status, [], body) if status is not None else None

    def __repr__(self):
        return f"<RawResult status={self.status} error={self.error!r} body={self.body[:200]!r}>"


def raw_request(host, port, head, body_writes, timeout_s=60):
    """Send a request over a plain socket and read the reply.

    head is the request line and headers as bytes, ending with the blank line.
    body_writes is an iterable of byte strings, each sent with its own
    sendall, so a test controls how the body is cut up. A thread reads the
    reply while the body is still going out, because a server may reply 413
    and close before it has read the whole body.
    """
    sock = socket.create_connection((host, port), timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    received = bytearray()
    read_error = []

    def read_reply():
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                received.extend(chunk)
                if reply_complete(bytes(received)):
                    return
        except OSError as exc:
            read_error.append(exc)

    reader = threading.Thread(target=read_reply, daemon=True)
    reader.start()
    write_error = None
    try:
        sock.sendall(head)
        for piece in body_writes:
            if not reader.is_alive():
                break
            sock.sendall(piece)
    except OSError as exc:
        write_error = exc
    reader.join(timeout_s)
    sock.close()

    status, body = parse_reply(bytes(received))
    if status is None:
        return RawResult(error=f"no reply (write error {write_error!r}, read error "
                               f"{read_error!r}, {len(received)} bytes received)")
    return RawResult(status=status, body=body)


def post_raw_body(base_url, path, token, body, timeout_s=60):
    """POST body with Content-Length over a plain socket; return a RawResult.

    Use it for bodies that the server may reject with 413 before reading
    them, where http.client fails with a broken pipe before the reply.
    """
    parts = urllib.parse.urlsplit(base_url)
    head = (f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("ascii")
    return raw_request(parts.hostname, parts.port, head, [body], timeout_s)


def task_id_of(current_task):
    """Return the task id from a current_task field, which docs/api.md shows
    without a type: a task id, or an object with task_id."""
    if isinstance(current_task, dict):
        return current_task.get("task_id")
    return current_task


def reply_complete(data):
    """Return True once data contains a whole HTTP reply with Content-Length."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(data) - end - 4 >= int(value.strip())
    return False


def parse_reply(data):
    """Split a raw HTTP reply into (status, body); (None, b"") if incomplete."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None, b""
    status_line = data[:data.find(b"\r\n")]
    fields = status_line.split(b" ")
    if len(fields) < 2 or not fields[1].isdigit():
        return None, b""
    return int(fields[1]), data[end + 4:]


class SseReader:
    """Read a Server-Sent Events stream in a thread into a queue of events.

    Each event is a dict with "event", "id" (None when absent) and "data"
    (parsed JSON, or the raw text when it is not JSON).
    """

    def __init__(self, url, token, last_event_id=None, timeout_s=60):
        parts = urllib.parse.urlsplit(url)
        self.events = queue.Queue()
        self.comments = 0
        self.error = None
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        path = parts.path + ("?" + parts.query if parts.query else "")
        self._conn.request("GET", path, headers=headers)
        self.response = self._conn.getresponse()
        self.status = self.response.status
        self.content_type = self.response.getheader("Content-Type")
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        fields = {}
        data_lines = []
        try:
            while True:
                raw = self.response.readline()
                if not raw:
                    return
                line = raw.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if data_lines or fields:
                        self.events.put(self._make_event(fields, data_lines))
                    fields, data_lines = {}, []
                elif line.startswith(":"):
                    self.comments += 1
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "data":
                        data_lines.append(value)
                    else:
                        fields[name] = value
        # close() shuts the socket down under a blocked read, which http.client
        # reports as any of these.
        except (OSError, ValueError, AttributeError, http.client.HTTPException) as exc:
            self.error = exc

    @staticmethod
    def _make_event(fields, data_lines):
        text = "\n".join(data_lines)
        try:
            data = json.loads(text)
        except ValueError:
            data = text
        return {"event": fields.get("event", "message"), "id": fields.get("id"), "data": data}

    def wait_event(self, predicate, timeout_s, seen=None):
        """Return the first event for which predicate is true.

        Events read on the way are appended to seen when it is a list.
        Raises AssertionError after timeout_s.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching SSE event within {timeout_s} s "
                                     f"(stream error: {self.error!r})")
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if seen is not None:
                seen.append(event)
            if predicate(event):
                return event

    def close(self):
        try:
            self._conn.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self._conn.close()
        self._thread.join(5)


# ---------------------------------------------------------------------------
# Processes


def read_environ(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read()
    except OSError:
        return b""


def process_state(pid):
    """Return (state letter, ppid) of a process, or (None, None) if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return None, None
    # The command name in brackets may contain spaces, so split after it.
    rest = stat[stat.rfind(")") + 2:].split()
    return rest[0], int(rest[1])


def command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return "?"


def all_pids():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def pids_with_marker(marker, include_zombies=False):
    """Return the pids whose environment contains marker (a str).

    Zombies have no readable environment, so they only show up through
    zombie_children.
    """
    needle = marker.encode("utf-8")
    found = []
    for pid in all_pids():
        if pid == os.getpid():
            continue
        if needle in read_environ(pid):
            state, _ = process_state(pid)
            if state is None or (state == "Z" and not include_zombies):
                continue
            found.append(pid)
    return found


def children_of(parent_pid, include_zombies=False):
    found = []
    for pid in all_pids():
        state, ppid = process_state(pid)
        if ppid == parent_pid and (include_zombies or state != "Z"):
            found.append(pid)
    return found


def zombie_children(parent_pid):
    return [pid for pid in children_of(parent_pid, include_zombies=True)
            if process_state(pid)[0] == "Z"]


def kill_pids(pids):
    """Send SIGKILL to each pid; pids that are already gone are skipped."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Process:
    """A process the test started, with its stderr in a file."""

    def __init__(self, name, argv, env, log_path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                      stdout=self._log, stderr=subprocess.STDOUT)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout_s=STOP_TIMEOUT_S):
        """Send sig, then SIGKILL after timeout_s; return the exit status."""
        if self.alive():
            try:
                self.popen.send_signal(sig)
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout_s)
        self._log.close()
        return self.popen.returncode

    def kill9(self):
        self.popen.kill()
        self.popen.wait(STOP_TIMEOUT_S)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])


def wait_until_serving(process, probe):
    """Poll probe() until it returns a 200 response; False if process exits first.

    Gives up after START_TIMEOUT_S. Connection errors count as not ready yet.
    """
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not process.alive():
            return False
        try:
            if probe().status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


class Server:
    """A real "taskrelay server" on a free loopback port."""

    def __init__(self, test_dir, heartbeat_ms=None, dispatch_timeout_ms=None, extra_args=(),
                 name="server"):
        self.heartbeat_ms = heartbeat_ms
        self.api_token = "api-" + secrets.token_hex(16)
        self.worker_token = "wrk-" + secrets.token_hex(16)
        self.test_dir = test_dir
        self.db_path = os.path.join(test_dir, f"{name}.db")
        self.data_dir = os.path.join(test_dir, f"{name}-data")
        self.name = name
        self.args = []
        if heartbeat_ms is not None:
            self.args += ["--heartbeat-ms", str(heartbeat_ms)]
        if dispatch_timeout_ms is not None:
            self.args += ["--dispatch-timeout-ms", str(dispatch_timeout_ms)]
        self.args += list(extra_args)
        self.process = None
        self.port = None
        self.url = None
        self.starts = 0

    def start(self, port=None):
        """Start the server on port (a new free port when None), with the same
        database and tokens."""
        env = dict(os.environ)
        env["TASKRELAY_API_TOKEN"] = self.api_token
        env["TASKRELAY_WORKER_TOKEN"] = self.worker_token
        for _ in range(3):
            self.port = port or free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            argv = [binary_path(), "server", "--listen", f"127.0.0.1:{self.port}",
                    "--db", self.db_path, "--data-dir", self.data_dir] + self.args
            log_path = os.path.join(self.test_dir, f"{self.name}-{self.starts}.log")
            self.starts += 1
            self.process = Process(self.name, argv, env, log_path)
            if self._wait_ready():
                return self
            self.process.stop()
            if port:
                break
        raise AssertionError(f"server did not start: {' '.join(self.process.argv)}\n"
                             f"{self.process.tail()}")

    def _wait_ready(self):
        return wait_until_serving(
            self.process, lambda: self.api("GET", "/api/v1/tasks", timeout_s=2))

    def api(self, method, path, body=None, token=None, headers=None, timeout_s=HTTP_TIMEOUT_S):
        """Request path with the API token (or token, when given)."""
        return request(method, self.url + path, token or self.api_token, body, headers,
                       timeout_s)

    def as_worker(self, method, path, body=None, headers=None):
        """Request path with the worker token."""
        return request(method, self.url + path, self.worker_token, body, headers)

    def create_task(self, kind, payload=None, **fields):
        """POST /api/v1/tasks; return the Response."""
        body = {"kind": kind}
        if payload is not None:
            body["payload"] = payload
        body.update(fields)
        return self.api("POST", "/api/v1/tasks", body)

    def task(self, task_id):
        reply = self.api("GET", f"/api/v1/tasks/{task_id}")
        if reply.status != 200:
            raise AssertionError(f"GET /api/v1/tasks/{task_id} returned {reply!r}")
        return reply.json

    def events(self, task_id):
        reply = self.api("GET", f"/api/v1/tasks/{task_id}/events")
        if reply.status != 200:
            raise AssertionError(f"GET /api/v1/tasks/{task_id}/events returned {reply!r}")
        return reply.json["events"]

    def wait_status(self, task_id, statuses, timeout_s=30):
        """Wait until the task's status is one of statuses; return the task."""
        if isinstance(statuses, str):
            statuses = (statuses,)
        return wait_for(lambda: self._task_if(task_id, statuses), timeout_s,
                        message=f"task {task_id} to reach {'/'.join(statuses)} "
                                f"(now {self.task(task_id).get('status')})")

    def _task_if(self, task_id, statuses):
        task = self.task(task_id)
        return task if task["status"] in statuses else None

    def worker_entry(self, worker_id):
        reply = self.api("GET", "/api/v1/workers")
        if reply.status != 200:
            return None
        for entry in reply.json.get("workers", []):
            if entry.get("id") == worker_id:
                return entry
        return None

    def wait_worker_status(self, worker_id, statuses, timeout_s=20):
        if isinstance(statuses, str):
            statuses = (statuses,)

        def check():
            entry = self.worker_entry(worker_id)
            return entry if entry and entry.get("status") in statuses else None

        return wait_for(check, timeout_s,
                        message=f"worker {worker_id} to be {'/'.join(statuses)}")


class Worker:
    """A real "taskrelay worker" that runs the programs in programs/."""

    def __init__(self, test_dir, server_url, worker_token, marker, worker_id=None, slots=1,
                 kinds=None, heartbeat_ms=None, kill_grace_ms=1000, shutdown_grace_s=1,
                 extra_args=()):
        self.test_dir = test_dir
        self.server_url = server_url
        self.worker_token = worker_token
        self.marker = marker
        self.id = worker_id or "itest-" + secrets.token_hex(4)
        self.slots = slots
        self.kinds = kinds or KIND_PROGRAMS
        self.state_dir = os.path.join(test_dir, f"worker-{self.id}")
        self.args = []
        if heartbeat_ms is not None:
            self.args += ["--heartbeat-ms", str(heartbeat_ms)]
        if kill_grace_ms is not None:
            self.args += ["--kill-grace-ms", str(kill_grace_ms)]
        # A short grace keeps teardown from waiting for tasks still running.
        if shutdown_grace_s is not None:
            self.args += ["--shutdown-grace-s", str(shutdown_grace_s)]
        self.args += list(extra_args)
        self.process = None
        self.port = None
        self.url = None
        self.starts = 0

    def argv(self):
        argv = [binary_path(), "worker", "--server", self.server_url,
                "--listen", f"127.0.0.1:{self.port}", "--id", self.id,
                "--slots", str(self.slots), "--state-dir", self.state_dir]
        for kind, program in self.kinds.items():
            argv += ["--kind", f"{kind}={os.path.join(PROGRAMS_DIR, program)}"]
        return argv + self.args

    def environment(self):
        env = dict(os.environ)
        env["TASKRELAY_WORKER_TOKEN"] = self.worker_token
        env["HOME"] = self.test_dir
        env["LANG"] = "C.UTF-8"
        # The worker passes PATH on to task programs; the marker directory
        # (it need not exist) tags every process they start.
        env["PATH"] = os.path.join(self.test_dir, self.marker) + ":" + os.environ.get(
            "PATH", "/usr/bin:/bin")
        return env

    def start(self, port=None):
        """Start the worker (on port, to restart on the same address)."""
        for _ in range(3):
            self.port = port or free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            log_path = os.path.join(self.test_dir, f"worker-{self.id}-{self.starts}.log")
            self.starts += 1
            self.process = Process(f"worker {self.id}", self.argv(), self.environment(),
                                   log_path)
            if self._wait_ready():
                return self
            self.process.stop()
            if port:
                break
        raise AssertionError(f"worker did not start: {' '.join(self.process.argv)}\n"
                             f"{self.process.tail()}")

    def _wait_ready(self):
        return wait_until_serving(self.process, lambda: self.call("GET", "/health", timeout_s=2))

    def call(self, method, path, body=None, token=None, timeout_s=HTTP_TIMEOUT_S):
        """Request path on the worker with the worker token (or token)."""
        return request(method, self.url + path, token or self.worker_token, body, None,
                       timeout_s)

    def execute(self, task_id, kind, attempt=1, payload=None, timeout_s=0):
        body = {"task_id": task_id, "kind": kind, "attempt": attempt,
                "payload": payload if payload is not None else {}, "timeout_s": timeout_s}
        return self.call("POST", "/execute", body)


# ---------------------------------------------------------------------------
# Stand-ins for one side of the protocol, for fault scenarios that need
# exact control over what the other side sends.


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, body):
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        record = {"method": self.command, "path": self.path, "body": body,
                  "authorization": self.headers.get("Authorization")}
        status, reply = self.server.owner.answer(record)
        with self.server.owner.lock:
            self.server.owner.requests.append(record)
        self._reply(status, reply)

    do_GET = _handle
    do_POST = _handle
    do_DELETE = _handle


class _StandIn:
    """A ThreadingHTTPServer on a free loopback port that records requests."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def answer(self, record):
        raise NotImplementedError

    def requests_to(self, path_part, method="POST"):
        with self.lock:
            return [r for r in self.requests if r["method"] == method and path_part in r["path"]]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


class FakeServer(_StandIn):
    """Stands in for the server when a test drives a real worker directly.

    It accepts every report with 200 {"accepted": true}, so nothing the
    server would decide (cancel lists, stale attempts) interferes.
    """

    def __init__(self, heartbeat_interval_ms=1000):
        self.heartbeat_interval_ms = heartbeat_interval_ms
        super().__init__()

    def answer(self, record):
        if record["path"].endswith("/register"):
            return 200, {"heartbeat_interval_ms": self.heartbeat_interval_ms}
        if record["path"].endswith("/heartbeat"):
            return 200, {"cancel": []}
        return 200, {"accepted": True}


class FakeWorker(_StandIn):
    """Stands in for a worker: the real server pushes /execute to it, and the
    test sends the reports itself.

    It replies 200 to every /execute and records it, so the recorded
    /execute requests are the ledger of executions. A heartbeat thread keeps
    the worker online.
    """

    def __init__(self, server, kinds, worker_id=None, slots=4, heartbeat_interval_s=0.5):
        super().__init__()
        self.server = server
        self.id = worker_id or "fake-" + secrets.token_hex(4)
        self.kinds = kinds
        self.slots = slots
        self.runs = {}
        self._stop = threading.Event()
        self._interval_s = heartbeat_interval_s
        self._heartbeat_thread = None

    def answer(self, record):
        if record["path"] == "/execute":
            body = record["body"] or {}
            with self.lock:
                self.runs[body.get("task_id")] = body.get("attempt", 1)
            return 200, {"success": True, "message": "Task started", "worker_id": self.id,
                         "task_id": body.get("task_id")}
        if record["path"] == "/health":
            return 200, {"status": "free", "worker_id": self.id, "current_task": None,
                         "slots": self.slots, "running": 0}
        return 200, {}

    def register(self):
        reply = self.server.as_worker("POST", "/api/v1/workers/register", {
            "worker_id": self.id, "url": self.url, "slots": self.slots,
            "kinds": list(self.kinds), "version": "fake"})
        if reply.status != 200:
            raise AssertionError(f"fake worker registration returned {reply!r}")
        self._heartbeat_thread = threading.Thread(target=self._beat, daemon=True)
        self._heartbeat_thread.start()
        return reply.json

    def _beat(self):
        while not self._stop.wait(self._interval_s):
            with self.lock:
                runs = [{"task_id": t, "attempt": a, "state": "running"}
                        for t, a in self.runs.items()]
            try:
                reply = self.server.as_worker("POST", f"/api/v1/workers/{self.id}/heartbeat",
                                              {"slots": self.slots,
                                               "free_slots": max(0, self.slots - len(runs)),
                                               "runs": runs})
                if reply.status == 404:
                    self.register_again()
            except OSError:
                pass

    def register_again(self):
        self.server.as_worker("POST", "/api/v1/workers/register", {
            "worker_id": self.id, "url": self.url, "slots": self.slots,
            "kinds": list(self.kinds), "version": "fake"})

    def executions(self):
        return self.requests_to("/execute")

    def forget(self, task_id):
        """Leave task_id out of later heartbeats, as a worker does once a
        run's final report was acknowledged."""
        with self.lock:
            self.runs.pop(task_id, None)

    def report(self, task_id, route, body):
        """POST /api/v1/tasks/{task_id}/{route} with the worker token and this
        worker's id added to body."""
        full = {"worker_id": self.id}
        full.update(body)
        reply = self.server.as_worker("POST", f"/api/v1/tasks/{task_id}/{route}", full)
        if route == "complete" and reply.status == 200:
            self.forget(task_id)
        return reply

    def stop(self):
        self._stop.set()
        if self._heartbeat_thread:
            self._heartbeat_thread.join(5)
        super().stop()


# ---------------------------------------------------------------------------
# Test case base


class TaskrelayTestCase(unittest.TestCase):
    """A test case with its own temporary directory and process cleanup.

    Processes started through start_server and start_worker are stopped at
    the end of the test, every process that carries the test's marker is
    killed, and on failure the tail of each process log is printed and the
    directory is kept.
    """

    def setUp(self):
        self.test_dir = tempfile.mkdtemp(prefix="taskrelay-itest-")
        self.marker = "itest-marker-" + secrets.token_hex(8)
        self.processes = []
        self.worker_pids = set()
        self.addCleanup(self._kill_marked)

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        outcome = super().run(result)
        failed = result is not None and len(result.failures) + len(result.errors) > before
        if failed:
            self._print_tails()
        else:
            shutil.rmtree(getattr(self, "test_dir", ""), ignore_errors=True)
        return outcome

    def _print_tails(self):
        out = sys.stderr
        out.write(f"\n--- {self.id()} failed; files kept in {self.test_dir}\n")
        for process in getattr(self, "processes", []):
            out.write(f"--- tail of {process.name} log ({process.log_path}):\n")
            out.write(process.tail() + "\n")
        out.flush()

    def _kill_marked(self):
        kill_pids(pids_with_marker(self.marker))

    def start_server(self, **options):
        server = Server(self.test_dir, **options)
        try:
            server.start()
        finally:
            if server.process:
                self.processes.append(server.process)
        self.addCleanup(server.process.stop)
        return server

    def restart_server(self, server):
        """Stop server with SIGTERM and start it again on its database."""
        server.process.stop()
        try:
            server.start()
        finally:
            self.processes.append(server.process)
        self.addCleanup(server.process.stop)

    def start_server_again(self, server):
        """Start server again on its port and database after its process
        ended, so that workers started with its URL reach it."""
        try:
            server.start(port=server.port)
        finally:
            self.processes.append(server.process)
        self.addCleanup(server.process.stop)

    def start_worker(self, server, wait_online=True, **options):
        """Start a worker for server and wait until the server lists it.

        Unless options set heartbeat_ms, the worker gets the server's
        --heartbeat-ms, so a test does not depend on the worker adopting the
        interval from the register reply (a test of its own checks that).
        """
        options.setdefault("heartbeat_ms", server.heartbeat_ms)
        worker = Worker(self.test_dir, server.url, server.worker_token, self.marker,
                        **options)
        self._start_tracked(worker)
        if wait_online:
            server.wait_worker_status(worker.id, ("online", "busy"))
        return worker

    def start_worker_with_fake_server(self, fake_server, **options):
        worker = Worker(self.test_dir, fake_server.url, "wrk-" + secrets.token_hex(16),
                        self.marker, **options)
        self._start_tracked(worker)
        return worker

    def _start_tracked(self, worker):
        try:
            worker.start()
        finally:
            if worker.process:
                self.processes.append(worker.process)
                self.worker_pids.add(worker.process.pid)
        self.addCleanup(lambda: worker.process.stop())

    def start_fake_server(self, **options):
        fake = FakeServer(**options)
        self.addCleanup(fake.stop)
        return fake

    def start_fake_worker(self, server, kinds, **options):
        fake = FakeWorker(server, kinds, **options)
        self.addCleanup(fake.stop)
        fake.register()
        return fake

    def restart_worker(self, worker):
        """Start worker again on its port after its process ended."""
        worker.start(port=worker.port)
        self.processes.append(worker.process)
        self.worker_pids.add(worker.process.pid)
        self.addCleanup(lambda: worker.process.stop())

    # Files that the task programs write under HOME (the test directory).

    def path(self, name):
        return os.path.join(self.test_dir, name)

    def ledger(self):
        """Return the ledger as a list of (task_id, attempt, program) tuples."""
        try:
            with open(self.path("ledger"), encoding="utf-8") as f:
                return [tuple(line.split()) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def ledger_runs(self, task_id):
        return [entry for entry in self.ledger() if entry[0] == str(task_id)]

    def release(self, name):
        """Create the go-file name that a waiting task program polls for."""
        with open(self.path(name), "w", encoding="utf-8"):
            pass

    def wait_file(self, name, timeout_s=15):
        return wait_for(lambda: os.path.exists(self.path(name)), timeout_s,
                        message=f"file {name} in {self.test_dir}")

    def read_bytes(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def marked_pids(self):
        """Return the pids of task programs and their descendants.

        Workers carry the marker too, because they pass it on, so they are
        left out.
        """
        return [pid for pid in pids_with_marker(self.marker) if pid not in self.worker_pids]

    def assert_no_run_processes(self, timeout_s=10):
        """Wait until no task program or descendant is left; fail listing them."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = self.marked_pids()
            if not left:
                return
            if time.monotonic() >= deadline:
                described = ", ".join(f"{pid} ({command_line(pid)})" for pid in left)
                self.fail(f"processes of task programs still alive after {timeout_s} s: "
                          f"{described}")
            time.sleep(0.05)

    def assert_created(self, reply):
        self.assertEqual(reply.status, 201, f"POST /api/v1/tasks returned {reply!r}")
        return reply.json
