"""Concurrent progress reports around the final report of one attempt.

A fake worker registers itself and sends the reports, so the test decides
their order exactly: 200 progress reports from 8 connections with the final
complete report sent halfway through, then an old progress report replayed.
"""

import http.client
import json
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import TaskrelayTestCase, wait_for  # noqa: E402

PROGRESS_COUNT = 200
CONNECTION_COUNT = 8


class ProgressRaceTest(TaskrelayTestCase):

    def test_complete_amid_progress_stays_completed(self):
        server = self.start_server(heartbeat_ms=1000)
        fake = self.start_fake_worker(server, ["race"])
        task = self.assert_created(server.create_task("race"))
        task_id = task["id"]
        wait_for(lambda: fake.executions(), 10, message="dispatch to the fake worker")
        self.assertEqual(fake.executions()[0]["body"]["attempt"], 1)

        start = fake.report(task_id, "start", {"attempt": 1, "seq": 1})
        self.assertEqual(start.status, 200, start)

        # Progress report k (0-based) has seq k + 2 and progress k // 2, so
        # progress only grows with seq. The final report has the highest seq.
        reports = [(k + 2, {"worker_id": fake.id, "attempt": 1, "seq": k + 2,
                            "progress": k // 2, "message": f"report {k + 2}"})
                   for k in range(PROGRESS_COUNT)]
        complete_seq = PROGRESS_COUNT + 2
        complete_body = {"worker_id": fake.id, "attempt": 1, "seq": complete_seq,
                         "status": "completed", "error": None, "result": {"sum": 1},
                         "log_tail": "", "exit_code": 0, "lost": False}

        replies = {}
        lock = threading.Lock()
        sent_count = [0]
        complete_sent = threading.Event()
        barrier = threading.Barrier(CONNECTION_COUNT)

        def send_share(index):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            headers = {"Authorization": f"Bearer {server.worker_token}",
                       "Content-Type": "application/json"}
            try:
                barrier.wait(10)
                for seq, body in reports[index::CONNECTION_COUNT]:
                    conn.request("POST", f"/api/v1/tasks/{task_id}/progress",
                                 json.dumps(body), headers)
                    reply = conn.getresponse()
                    data = reply.read()
                    with lock:
                        replies[seq] = (reply.status, data)
                        sent_count[0] += 1
                        send_complete = (sent_count[0] == PROGRESS_COUNT // 2
                                         and not complete_sent.is_set())
                        if send_complete:
                            complete_sent.set()
                    if send_complete:
                        conn.request("POST", f"/api/v1/tasks/{task_id}/complete",
                                     json.dumps(complete_body), headers)
                        reply = conn.getresponse()
                        with lock:
                            replies["complete"] = (reply.status, reply.read())
            finally:
                conn.close()

        threads = [threading.Thread(target=send_share, args=(i,)) for i in range(CONNECTION_COUNT)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertFalse(any(t.is_alive() for t in threads), "a sender thread hung")

        self.assertEqual(replies["complete"][0], 200, replies["complete"])
        progress_replies = {seq: r for seq, r in replies.items() if seq != "complete"}
        self.assertEqual(len(progress_replies), PROGRESS_COUNT)
        for seq, (status, data) in sorted(progress_replies.items()):
            self.assertEqual(status, 200, f"progress seq {seq}: {status} {data!r}")

        replay = fake.report(task_id, "progress", {"attempt": 1, "seq": 50, "progress": 24,
                                                   "message": "replayed"})
        self.assertEqual(replay.status, 200, replay)
        self.assertIs(replay.json["accepted"], False)
        late_higher = fake.report(task_id, "progress", {"attempt": 1, "seq": complete_seq + 1,
                                                        "progress": 10, "message": "late"})
        self.assertEqual(late_higher.status, 200, late_higher)
        self.assertIs(late_higher.json["accepted"], False)

        final = server.task(task_id)
        self.assertEqual(final["status"], "completed")
        self.assertEqual(final["progress"], 100)
        self.assertEqual(final["result"], {"sum": 1})
        self.assertIsNotNone(final["finished_at"])
        self.assertNotIn(final["message"], ("replayed", "late"))

        events = server.events(task_id)
        types = [e["type"] for e in events]
        self.assertEqual(types.count("completed"), 1, types)
        self.assertEqual(types[-1], "completed", types)
        self.assertEqual(types.count("started"), 1, types)
        progress_values = [e["progress"] for e in events if e["type"] == "progress"]
        self.assertLessEqual(len(progress_values), PROGRESS_COUNT)
        self.assertEqual(progress_values, sorted(progress_values),
                         "an older progress report was applied after a newer one")
        messages = [e["message"] for e in events if e["type"] == "progress"]
        self.assertNotIn("replayed", messages)
        self.assertNotIn("late", messages)

        self.assertEqual(len(fake.executions()), 1)


if __name__ == "__main__":
    unittest.main()
