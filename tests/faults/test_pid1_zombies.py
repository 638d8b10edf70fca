"""The worker as PID 1 of its own PID namespace, running task programs that
start Chromium and then die abruptly.

A PID 1 inherits every orphan in its namespace, so a worker that does not
reap them fills the namespace with zombies, and one that does not kill a
run's leftovers keeps Chromium processes alive after the task ended. The
test starts the worker with `unshare --pid --fork --mount-proc` and looks
at the namespace from outside through /proc.
"""

import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import (TaskrelayTestCase, Worker, all_pids, children_of,  # noqa: E402
                     process_state, wait_for)

PROGRAMS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
KINDS = {"chromium": os.path.join(PROGRAMS_DIR, "chromium.sh")}
CHROMIUM = "/usr/bin/chromium"

HEARTBEAT_MS = 300
TASK_COUNT = 50
SLOTS = 2
TERMINAL = ("completed", "failed", "canceled")


class NamespaceWorker(Worker):
    """A worker that runs as PID 1 of a new PID namespace with its own /proc.

    --kill-child makes unshare take the worker down when the harness stops
    unshare, which is the process the harness started.
    """

    def argv(self):
        return ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"] + super().argv()


def pid_namespace(pid):
    """Return the PID namespace link of pid, or None when pid is gone."""
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def namespace_pids(namespace):
    """Return the host pids of every process, zombies included, in namespace."""
    return [pid for pid in all_pids() if pid_namespace(pid) == namespace]


def command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def describe(pid):
    """Return pid, state, parent, PID namespace and command line, for messages."""
    state, ppid = process_state(pid)
    return (f"pid {pid} state {state} ppid {ppid} {pid_namespace(pid)} "
            f"{command_line(pid)[:120]!r}")


def namespace_pid_chain(pid):
    """Return the NSpid line of /proc/PID/status: the pid in each namespace,
    outermost first."""
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(field) for field in line.split()[1:]]
    return []


class Pid1ZombiesTest(TaskrelayTestCase):

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("unshare --pid needs root")
        if not shutil.which("unshare") or not os.access(CHROMIUM, os.X_OK):
            self.skipTest(f"needs unshare and {CHROMIUM}")
        super().setUp()

    def start_namespace_worker(self, server):
        worker = NamespaceWorker(self.test_dir, server.url, server.worker_token, self.marker,
                                 slots=SLOTS, kinds=KINDS)
        self._start_tracked(worker)
        server.wait_worker_status(worker.id, ("online", "busy"))
        children = children_of(worker.process.pid)
        self.assertEqual(len(children), 1, f"children of unshare: {children}")
        return worker, children[0]

    def namespace_state(self, namespace, agent_pid):
        """Return (zombies, chromium processes, other processes) in namespace,
        the worker agent itself left out."""
        zombies, chromium, others = [], [], []
        for pid in namespace_pids(namespace):
            if pid == agent_pid:
                continue
            state, _ = process_state(pid)
            if state is None:
                continue
            if state == "Z":
                zombies.append(pid)
            elif "chromium" in command_line(pid) or "chrome" in command_line(pid):
                chromium.append(pid)
            else:
                others.append(pid)
        return zombies, chromium, others

    def test_pid1_worker_reaps_chromium_leftovers(self):
        server = self.start_server(heartbeat_ms=HEARTBEAT_MS)
        worker, agent_pid = self.start_namespace_worker(server)
        namespace = pid_namespace(agent_pid)
        self.assertNotEqual(namespace, pid_namespace(os.getpid()),
                            "the worker shares the test's PID namespace")
        self.assertEqual(namespace_pid_chain(agent_pid)[-1], 1,
                         "the worker is not PID 1 of its namespace")

        task_ids = []
        for _ in range(TASK_COUNT):
            task = self.assert_created(server.create_task("chromium", timeout_s=60))
            task_ids.append(task["id"])

        # The most Chromium processes seen at once in the namespace, which
        # shows that the runs really left Chromium behind for the worker.
        chromium_seen = [0]

        def all_terminal():
            _, chromium, _ = self.namespace_state(namespace, agent_pid)
            chromium_seen[0] = max(chromium_seen[0], len(chromium))
            reply = server.api("GET", "/api/v1/tasks?kind=chromium&limit=1")
            counts = reply.json["counts"]
            return sum(counts.get(status, 0) for status in TERMINAL) == TASK_COUNT

        wait_for(all_terminal, 150, interval_s=0.5, message=f"{TASK_COUNT} tasks to end")

        for task_id in task_ids:
            task = server.task(task_id)
            self.assertEqual(task["status"], "failed", f"task {task_id}: {task}")
            self.assertEqual(task["attempt"], 1, f"task {task_id}: {task}")
            expected = "killed by signal 9" if task_id % 2 == 1 else "exited with code 1"
            self.assertIn(expected, task["error"] or "", f"task {task_id}: {task}")
        self.assertGreater(chromium_seen[0], 0, "no Chromium process ever ran in the namespace")
        ledger_ids = sorted(int(entry[0]) for entry in self.ledger())
        self.assertEqual(ledger_ids, sorted(task_ids), "not every task ran exactly once")

        # Each run's processes are killed and reaped before its slot frees,
        # so the namespace should contain only the agent once the tasks
        # ended. The wait covers the reaping of the last run.
        deadline = time.monotonic() + 15
        state = self.namespace_state(namespace, agent_pid)
        while any(state) and time.monotonic() < deadline:
            time.sleep(0.2)
            state = self.namespace_state(namespace, agent_pid)
        zombies, chromium, others = state
        self.assertEqual(zombies, [], "zombies in the worker's PID namespace")
        self.assertEqual(chromium, [], "Chromium processes left in the worker's namespace: "
                                       + "; ".join(describe(pid) for pid in chromium))
        self.assertEqual(others, [], "other processes left in the worker's namespace: "
                                     + "; ".join(describe(pid) for pid in others))
        # The worker and unshare carry the marker too, because the harness
        # puts it into the worker's PATH.
        leftovers = [pid for pid in self.marked_pids()
                     if pid not in (worker.process.pid, agent_pid)]
        self.assertEqual(leftovers, [], "processes of the runs left outside the namespace: "
                                        + "; ".join(describe(pid) for pid in leftovers))
        self.assertTrue(worker.process.alive(), "the worker exited")
        self.assertIn(process_state(agent_pid)[0], ("S", "R"), "the worker agent is not running")


if __name__ == "__main__":
    unittest.main()
