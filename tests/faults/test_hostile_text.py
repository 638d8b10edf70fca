"""Payloads and progress messages with text that breaks naive JSON handling.

Every case must end one of two ways: a 400 whose message names the problem,
or an exact round trip through the API, the store (checked again after a
server restart) and the task program. Cases that are not valid JSON at all
must get the 400. A bad progress message must never block the final report.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import TaskrelayTestCase, wait_for  # noqa: E402

TERMINAL = ("completed", "failed", "canceled")
DEPTH = 10000

# Words of which a 400 message must contain one (compared in lower case).
WORDS_NUL = ("control character", "nul", "\\u0000")
WORDS_UTF8 = ("utf-8", "utf8", "decode", "encoding")
WORDS_SURROGATE = ("surrogate", "unicode")
WORDS_TRUNCATED = ("end of", "premature", "truncated", "expected", "unexpected")
WORDS_DEPTH = ("depth", "nest", "deep")
WORDS_DUPLICATE = ("duplicate",)


def task_body(payload_text):
    """Return a task body whose payload is payload_text, inserted unparsed."""
    return b'{"kind":"copy","payload":' + payload_text + b"}"


# (name, request body, expected payload on a round trip or None when only a
# 400 is right, words for the 400 message)
PAYLOAD_CASES = [
    ("escaped NUL", task_body(b'{"s":"a\\u0000b"}'), {"s": "a\u0000b"}, WORDS_NUL),
    ("raw NUL byte", task_body(b'{"s":"a\x00b"}'), None, WORDS_NUL),
    ("lone high surrogate", task_body(b'{"s":"a\\ud800b"}'), {"s": "a\ud800b"},
     WORDS_SURROGATE),
    ("lone low surrogate", task_body(b'{"s":"\\udc00"}'), {"s": "\udc00"}, WORDS_SURROGATE),
    ("invalid UTF-8", task_body(b'{"s":"a\xff\xfeb"}'), None, WORDS_UTF8),
    ("overlong UTF-8", task_body(b'{"s":"\xc0\x80"}'), None, WORDS_UTF8),
    ("UTF-8 surrogate bytes", task_body(b'{"s":"\xed\xa0\x80"}'), None, WORDS_UTF8),
    ("emoji", task_body(json.dumps({"s": "\U0001F680\U0001F469\u200D\U0001F4BB\uFE0F"},
                                   ensure_ascii=False).encode()),
     {"s": "\U0001F680\U0001F469\u200D\U0001F4BB\uFE0F"}, ()),
    ("escaped emoji pair", task_body(b'{"s":"\\ud83d\\ude80"}'), {"s": "\U0001F680"}, ()),
    ("right-to-left", task_body(json.dumps({"s": "\u05e9\u05dc\u05d5\u05dd \u202eabc\u202c "
                                                 "\u0645\u0631\u062d\u0628\u0627"},
                                           ensure_ascii=False).encode()),
     {"s": "\u05e9\u05dc\u05d5\u05dd \u202eabc\u202c \u0645\u0631\u062d\u0628\u0627"}, ()),
    ("line separators", task_body(json.dumps({"s": "a\u2028b\u2029c\ufeffd\uffff"},
                                             ensure_ascii=False).encode()),
     {"s": "a\u2028b\u2029c\ufeffd\uffff"}, ()),
    ("truncated", b'{"kind":"copy","payload":{"s":"abc', None, WORDS_TRUNCATED),
    ("truncated escape", b'{"kind":"copy","payload":{"s":"\\u12', None,
     WORDS_TRUNCATED + ("escape",)),
    ("deep arrays", task_body(b"[" * DEPTH + b"]" * DEPTH),
     "deep arrays", WORDS_DEPTH),
    ("deep objects", task_body(b'{"a":' * DEPTH + b"1" + b"}" * DEPTH), "deep objects",
     WORDS_DEPTH),
    ("duplicate payload keys", task_body(b'{"a":1,"a":2}'), None, WORDS_DUPLICATE),
    ("duplicate top keys", b'{"kind":"copy","kind":"copy","payload":{}}', None,
     WORDS_DUPLICATE),
    ("NUL in a key", task_body(b'{"a\\u0000b":1}'), {"a\u0000b": 1}, WORDS_NUL),
    ("NUL in kind", b'{"kind":"copy\\u0000x","payload":{}}', None, ("kind",)),
]


def deep_value(name):
    """Build the deep payloads with loops, because json.loads of 10,000
    levels exceeds Python's recursion limit."""
    if name == "deep arrays":
        value = []
        for _ in range(DEPTH - 1):
            value = [value]
        return value
    value = 1
    for _ in range(DEPTH):
        value = {"a": value}
    return value


def deep_equal(left, right):
    """Compare two values iteratively, so deep nesting does not recurse."""
    stack = [(left, right)]
    while stack:
        a, b = stack.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, list):
            if len(a) != len(b):
                return False
            stack.extend(zip(a, b))
        elif isinstance(a, dict):
            if a.keys() != b.keys():
                return False
            stack.extend((a[k], b[k]) for k in a)
        elif a != b:
            return False
    return True


def parse_deep(data):
    """json.loads that survives 10,000 levels by raising the recursion limit."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 4 * DEPTH + 1000))
    try:
        return json.loads(data)
    finally:
        sys.setrecursionlimit(old)


class HostileTextTest(TaskrelayTestCase):

    def assert_clear_400(self, reply, words, case):
        self.assertEqual(reply.status, 400, f"{case}: {reply!r}")
        self.assertIn(reply.error_code(), ("invalid_json", "invalid_field"), f"{case}: {reply!r}")
        message = (reply.error_message() or "").lower()
        self.assertTrue(any(word in message for word in words),
                        f"{case}: message {message!r} names none of {words}")

    def expected_payload(self, expected):
        if expected in ("deep arrays", "deep objects"):
            return deep_value(expected)
        return expected

    def test_payload_cases(self):
        server = self.start_server(heartbeat_ms=1000)
        self.start_worker(server, slots=2, kinds={"copy": "copy.sh"})

        round_trips = {}
        for name, body, expected, words in PAYLOAD_CASES:
            with self.subTest(case=name):
                reply = server.api("POST", "/api/v1/tasks", body)
                if reply.status == 400 or expected is None:
                    self.assert_clear_400(reply, words, name)
                    continue
                self.assertEqual(reply.status, 201, f"{name}: {reply!r}")
                task = parse_deep(reply.body)
                want = self.expected_payload(expected)
                self.assertTrue(deep_equal(task["payload"], want), f"{name}: 201 body payload")
                round_trips[task["id"]] = (name, want)

        self.assertEqual(server.api("GET", "/api/v1/tasks").status, 200)
        for task_id, (name, want) in round_trips.items():
            with self.subTest(case=name, task=task_id):
                final = server.wait_status(task_id, TERMINAL)
                self.assertEqual(final["status"], "completed", final.get("error"))
                stored = parse_deep(server.api("GET", f"/api/v1/tasks/{task_id}").body)
                self.assertTrue(deep_equal(stored["payload"], want), f"{name}: API payload")
                for copy in (f"payload-{task_id}-1", f"stdin-{task_id}-1"):
                    wait_for(lambda: os.path.exists(self.path(f"stdin-{task_id}-1")), 10,
                             message=f"copies of task {task_id}")
                    seen = parse_deep(self.read_bytes(copy))
                    self.assertTrue(deep_equal(seen, want), f"{name}: {copy}")

        self.restart_server(server)
        for task_id, (name, want) in round_trips.items():
            with self.subTest(case=name, task=task_id, after="restart"):
                stored = parse_deep(server.api("GET", f"/api/v1/tasks/{task_id}").body)
                self.assertTrue(deep_equal(stored["payload"], want), f"{name}: stored payload")

    def test_progress_message_cases(self):
        server = self.start_server(heartbeat_ms=1000)
        fake = self.start_fake_worker(server, ["text"])
        task = self.assert_created(server.create_task("text"))
        task_id = task["id"]
        wait_for(lambda: fake.executions(), 10, message="dispatch to the fake worker")
        self.assertEqual(fake.report(task_id, "start", {"attempt": 1, "seq": 1}).status, 200)

        prefix = ('{"worker_id":' + json.dumps(fake.id) + ',"attempt":1,"seq":%d,'
                  '"progress":%d,"message":').encode()
        cases = [
            ("escaped NUL", b'"a\\u0000b"', "a\u0000b", WORDS_NUL),
            ("raw NUL byte", b'"a\x00b"', None, WORDS_NUL),
            ("lone surrogate", b'"x\\udfffy"', "x\udfffy", WORDS_SURROGATE),
            ("invalid UTF-8", b'"bad \xff"', None, WORDS_UTF8),
            ("emoji", json.dumps("done \U0001F389", ensure_ascii=False).encode(),
             "done \U0001F389", ()),
            ("right-to-left", json.dumps("\u05d1\u05d3\u05d9\u05e7\u05d4 \u202e",
                                         ensure_ascii=False).encode(),
             "\u05d1\u05d3\u05d9\u05e7\u05d4 \u202e", ()),
            ("message at the limit", json.dumps("m" * 1024).encode(), "m" * 1024, ()),
            ("message over the limit", json.dumps("m" * 1025).encode(), None,
             ("message", "1024", "1,024")),
            ("deep message", b"[" * DEPTH + b"]" * DEPTH, None, WORDS_DEPTH + ("message",)),
        ]
        seq = 2
        for index, (name, message_json, expected, words) in enumerate(cases):
            with self.subTest(case=name):
                body = prefix % (seq, index + 1) + message_json + b"}"
                seq += 1
                reply = server.as_worker("POST", f"/api/v1/tasks/{task_id}/progress", body)
                if reply.status == 400 or expected is None:
                    self.assert_clear_400(reply, words, name)
                    continue
                self.assertEqual(reply.status, 200, f"{name}: {reply!r}")
                current = server.task(task_id)
                self.assertEqual(current["message"], expected, name)
                self.assertEqual(current["progress"], index + 1, name)

        truncated = prefix % (seq, 50) + b'"cut'
        self.assert_clear_400(server.as_worker("POST", f"/api/v1/tasks/{task_id}/progress",
                                               truncated), WORDS_TRUNCATED, "truncated")
        seq += 1

        complete = fake.report(task_id, "complete", {
            "attempt": 1, "seq": seq, "status": "completed", "error": None, "result": None,
            "log_tail": "", "exit_code": 0, "lost": False})
        self.assertEqual(complete.status, 200, complete)
        final = server.task(task_id)
        self.assertEqual(final["status"], "completed")
        self.assertEqual(final["progress"], 100)

        messages = [e["message"] for e in server.events(task_id) if e["type"] == "progress"]
        for name, _, expected, _ in cases:
            if expected is not None and expected in messages:
                self.assertEqual(messages.count(expected), 1, name)

    def test_program_progress_lines(self):
        server = self.start_server(heartbeat_ms=1000)
        self.start_worker(server, slots=1, kinds={"hostile": "hostile.sh"})
        task = self.assert_created(server.create_task("hostile"))
        final = server.wait_status(task["id"], TERMINAL)
        self.assertEqual(final["status"], "completed", final.get("error"))
        self.assertEqual(final["progress"], 100)

        events = server.events(task["id"])
        progress = [(e["progress"], e["message"]) for e in events if e["type"] == "progress"]
        by_value = dict(progress)
        self.assertEqual(by_value.get(50), "rocket \U0001F680 done")
        self.assertEqual(by_value.get(60), "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd "
                                           "\u0645\u0631\u062d\u0628\u0627")
        self.assertEqual(by_value.get(80), "json \u00e9 line")
        self.assertEqual(by_value.get(100), "final")
        values = [value for value, _ in progress]
        self.assertTrue(all(0 <= value <= 100 for value in values), values)
        for value, message in progress:
            with self.subTest(progress=value):
                self.assertNotIn("\u0000", message or "")
                self.assertLessEqual(len((message or "").encode("utf-8")), 1024)
        self.assertEqual(self.ledger(), [(str(task["id"]), "1", "hostile.sh")])


if __name__ == "__main__":
    unittest.main()
