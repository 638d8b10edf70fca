"""Twenty concurrent /execute requests on a worker with one slot."""

import json
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import TaskrelayTestCase, children_of, request, wait_for  # noqa: E402

REQUEST_COUNT = 20
FIRST_TASK_ID = 5000


class ExecuteStormTest(TaskrelayTestCase):

    def storm(self, worker, task_ids):
        """Send one /execute per task id at once; return {task_id: Response}."""
        replies = {}
        lock = threading.Lock()
        barrier = threading.Barrier(len(task_ids))

        def send(task_id):
            body = {"task_id": task_id, "kind": "gated", "attempt": 1, "payload": {},
                    "timeout_s": 60}
            barrier.wait(10)
            reply = request("POST", worker.url + "/execute", worker.worker_token, body)
            with lock:
                replies[task_id] = reply

        threads = [threading.Thread(target=send, args=(t,)) for t in task_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertFalse(any(t.is_alive() for t in threads), "an /execute request hung")
        return replies

    def test_one_slot_takes_one_of_twenty(self):
        fake = self.start_fake_server()
        worker = self.start_worker_with_fake_server(fake, slots=1, kinds={"gated": "gated.sh"})
        wait_for(lambda: fake.requests_to("/register"), 10, message="worker registration")

        task_ids = list(range(FIRST_TASK_ID, FIRST_TASK_ID + REQUEST_COUNT))
        replies = self.storm(worker, task_ids)

        accepted = [t for t, r in replies.items() if r.status == 200]
        busy = [t for t, r in replies.items() if r.status == 503]
        self.assertEqual(len(accepted), 1, {t: r.status for t, r in replies.items()})
        self.assertEqual(len(busy), REQUEST_COUNT - 1, {t: r.status for t, r in replies.items()})
        winner = accepted[0]
        self.assertIs(replies[winner].json["success"], True)
        self.assertEqual(replies[winner].json["task_id"], winner)
        for task_id in busy:
            self.assertIs(replies[task_id].json["success"], False)
            self.assertEqual(replies[task_id].json["message"], "Worker is busy")

        # Let every loser that wrongly started reach the ledger and fork.
        time.sleep(1.0)
        self.assertEqual(len(children_of(worker.process.pid)), 1,
                         f"worker children: {children_of(worker.process.pid)}")
        self.assertEqual(self.ledger(), [(str(winner), "1", "gated.sh")])

        for step in (1, 2, 3, 4):
            self.release(f"go-{winner}-{step}")
        complete = wait_for(lambda: self._complete_report(fake, winner), 15,
                            message="complete report of the winner")
        self.assertEqual(complete["status"], "completed")
        self.assertEqual(complete["attempt"], 1)
        wait_for(lambda: worker.call("GET", "/health").json["status"] == "free", 10,
                 message="the slot to be free")
        self.assertEqual(children_of(worker.process.pid), [])

        second_round = self.storm(worker, [t + 100 for t in task_ids])
        statuses = sorted(r.status for r in second_round.values())
        self.assertEqual(statuses, [200] + [503] * (REQUEST_COUNT - 1))
        time.sleep(1.0)
        self.assertEqual(len(children_of(worker.process.pid)), 1)
        self.assertEqual(len(self.ledger()), 2)

    @staticmethod
    def _complete_report(fake, task_id):
        for record in fake.requests_to(f"/api/v1/tasks/{task_id}/complete"):
            body = record["body"]
            if isinstance(body, dict):
                return body
        return None


if __name__ == "__main__":
    unittest.main()
