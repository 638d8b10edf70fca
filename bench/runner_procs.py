"""Processes of a benchmark run: the taskrelay server, the real worker and
Redis, each started in its own temporary folder and stopped by its PID."""

import json
import os
import re
import resource
import signal
import socket
import subprocess
import time
import urllib.request


def raise_fd_limit():
    """Raise the soft descriptor limit to the hard one, for a child that
    holds a thousand connections (run in the child before exec)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port():
    """Return a loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid):
    """Return (VmRSS, VmHWM) of pid in KiB from /proc/PID/status."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        text = status.read()
    rss = int(re.search(r"^VmRSS:\s+(\d+) kB", text, re.M).group(1))
    hwm = int(re.search(r"^VmHWM:\s+(\d+) kB", text, re.M).group(1))
    return rss, hwm


def stop_process(proc, grace_s=10):
    """Send SIGTERM to proc by its PID, then SIGKILL after grace_s."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace_s)


class Server:
    """A taskrelay server on a free loopback port with a fresh store."""

    def __init__(self, binary, folder, tokens, db_path=None, kinds=()):
        self.folder = folder
        self.tokens = tokens
        os.makedirs(folder, exist_ok=True)
        self.db_path = db_path or os.path.join(folder, "taskrelay.db")
        port_file = os.path.join(folder, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        args = [binary, "server", "--listen", "127.0.0.1:0", "--port-file", port_file,
                "--db", self.db_path, "--data-dir", os.path.join(folder, "data"),
                "--log-level", "warn"]
        for kind in kinds:
            args += ["--kind", kind]
        self.log = open(os.path.join(folder, "server.log"), "ab")
        self.proc = subprocess.Popen(args, env=tokens.env(), stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=raise_fd_limit)
        self.port = self._wait_port(port_file)
        self.url = f"http://127.0.0.1:{self.port}"

    def _wait_port(self, port_file, timeout_s=20):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: see "
                                   f"{self.folder}/server.log")
            try:
                with open(port_file, encoding="ascii") as text:
                    port = text.read().strip()
                if port:
                    return int(port)
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"server did not write its port within {timeout_s} s")

    def request(self, method, path, body=None, timeout_s=30):
        """Send one API request with the API token; return the parsed JSON."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.tokens.api}",
            "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout_s) as answer:
            return json.loads(answer.read())

    def stop(self):
        stop_process(self.proc)
        self.log.close()


class Worker:
    """A real `taskrelay worker` registered with server."""

    def __init__(self, binary, folder, server, worker_id, slots, kinds):
        os.makedirs(folder, exist_ok=True)
        self.server = server
        self.worker_id = worker_id
        args = [binary, "worker", "--server", server.url, "--id", worker_id,
                "--listen", f"127.0.0.1:{free_port()}", "--slots", str(slots),
                "--state-dir", os.path.join(folder, "state"), "--log-level", "warn",
                "--shutdown-grace-s", "5", "--kill-grace-ms", "1000"]
        for name, program in kinds:
            args += ["--kind", f"{name}={program}"]
        self.log = open(os.path.join(folder, "worker.log"), "ab")
        self.proc = subprocess.Popen(args, env=server.tokens.env(), stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self._wait_online()

    def _wait_online(self, timeout_s=20):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}")
            workers = self.server.request("GET", "/api/v1/workers")["workers"]
            if any(w["id"] == self.worker_id and w["status"] == "online" for w in workers):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"worker {self.worker_id} did not come online in {timeout_s} s")

    def stop(self):
        stop_process(self.proc, grace_s=15)
        self.log.close()


class Redis:
    """redis-server on a free loopback port, with every write fsynced."""

    def __init__(self, folder):
        os.makedirs(folder, exist_ok=True)
        self.port = free_port()
        self.log = open(os.path.join(folder, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", folder, "--appendonly", "yes", "--appendfsync", "always",
             "--save", "", "--daemonize", "no"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not accept connections within 10 s")

    def stop(self):
        stop_process(self.proc)
        self.log.close()
