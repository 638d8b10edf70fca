"""Bad request bodies get clear errors, and unusual text round-trips exactly."""

import json
import unittest

from harness import BODY_LIMIT, TaskrelayTestCase, post_raw_body

TERMINAL = ("completed", "failed", "canceled")


class ValidationTest(TaskrelayTestCase):

    def setUp(self):
        super().setUp()
        self.server = self.start_server(heartbeat_ms=1000)
        self.worker = self.start_worker(self.server, slots=2)

    def post_raw(self, body):
        return self.server.api("POST", "/api/v1/tasks", body)

    def assert_error(self, reply, status, code, names=None):
        """Check the status, the error shape and that the message names the field."""
        self.assertEqual(reply.status, status, reply)
        self.assertEqual(reply.error_code(), code, reply)
        message = reply.error_message()
        self.assertIsInstance(message, str, reply)
        self.assertGreater(len(message), 10, reply)
        if names:
            self.assertIn(names, message, reply)

    def assert_still_serving(self):
        reply = self.server.api("GET", "/api/v1/tasks")
        self.assertEqual(reply.status, 200, reply)
        task = self.assert_created(self.server.create_task("steps"))
        final = self.server.wait_status(task["id"], TERMINAL)
        self.assertEqual(final["status"], "completed")

    def test_malformed_json(self):
        cases = [
            b'{"kind": "steps",',
            b'{"kind": steps}',
            b"{'kind': 'steps'}",
            b'{"kind": "steps"} trailing',
            b"",
            b"\xff\xfe{}",
        ]
        for body in cases:
            with self.subTest(body=body):
                self.assert_error(self.post_raw(body), 400, "invalid_json")
        self.assert_still_serving()

    def test_invalid_fields(self):
        cases = [
            ({"payload": {}}, "kind"),
            ([{"kind": "steps"}], None),
            ("steps", None),
            ({"kind": 17}, "kind"),
            ({"kind": ""}, "kind"),
            ({"kind": "bad kind!"}, "kind"),
            ({"kind": "k" * 65}, "kind"),
            ({"kind": "steps", "max_attempts": 0}, "max_attempts"),
            ({"kind": "steps", "max_attempts": 101}, "max_attempts"),
            ({"kind": "steps", "max_attempts": "3"}, "max_attempts"),
            ({"kind": "steps", "backoff_ms": -1}, "backoff_ms"),
            ({"kind": "steps", "backoff_ms": 3600001}, "backoff_ms"),
            ({"kind": "steps", "timeout_s": 604801}, "timeout_s"),
            ({"kind": "steps", "timeout_s": -5}, "timeout_s"),
            ({"kind": "steps", "timeout_s": 1.5}, "timeout_s"),
            ({"kind": "steps", "retry_on_failure": "yes"}, "retry_on_failure"),
            ({"kind": "steps", "retry_on_loss": 1}, "retry_on_loss"),
            ({"kind": "steps", "idempotency_key": ""}, "idempotency_key"),
            ({"kind": "steps", "idempotency_key": "k" * 201}, "idempotency_key"),
            ({"kind": "steps", "idempotency_key": 5}, "idempotency_key"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                reply = self.post_raw(json.dumps(body).encode())
                self.assertEqual(reply.status, 400, reply)
                self.assertIn(reply.error_code(), ("invalid_field", "invalid_json"), reply)
                if field:
                    self.assertIn(field, reply.error_message(), reply)
        self.assert_still_serving()

    def test_limits_accepted_at_edge(self):
        edge = {"kind": "steps", "max_attempts": 100, "backoff_ms": 3600000,
                "timeout_s": 604800, "idempotency_key": "k" * 200}
        task = self.assert_created(self.post_raw(json.dumps(edge).encode()))
        self.assertEqual(task["max_attempts"], 100)
        self.assertEqual(task["backoff_ms"], 3600000)
        self.assertEqual(task["timeout_s"], 604800)
        self.assertEqual(task["idempotency_key"], "k" * 200)

    def test_oversized_body(self):
        body = b'{"kind": "copy", "payload": "' + b"a" * BODY_LIMIT + b'"}'
        result = post_raw_body(self.server.url, "/api/v1/tasks", self.server.api_token, body)
        self.assertIsNotNone(result.response, result)
        self.assert_error(result.response, 413, "too_large")
        self.assert_still_serving()

    def test_unknown_kind(self):
        self.assert_error(self.post_raw(b'{"kind": "no-such-kind"}'), 422, "unknown_kind",
                          names="no-such-kind")
        self.assert_still_serving()

    def test_duplicate_keys(self):
        self.assert_error(self.post_raw(b'{"kind": "steps", "kind": "copy"}'), 400,
                          "invalid_json")
        self.assert_error(self.post_raw(b'{"kind": "copy", "payload": {"a": 1, "a": 2}}'), 400,
                          "invalid_json")
        self.assert_still_serving()

    def test_unknown_routes_and_methods(self):
        missing = self.server.api("GET", "/api/v1/tasks/99999999")
        self.assert_error(missing, 404, "not_found")
        wrong_method = self.server.api("DELETE", "/api/v1/tasks")
        self.assert_error(wrong_method, 405, "method_not_allowed")
        no_route = self.server.api("GET", "/api/v1/no-such-route")
        self.assert_error(no_route, 404, "not_found")

    def test_unicode_payload_round_trip(self):
        payload = {
            "emoji": "rocket \U0001F680, family \U0001F468\u200D\U0001F469\u200D\U0001F467",
            "rtl": "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u202eevil\u202c",
            "nul": "before\u0000after",
            "only_nul": "\u0000",
            "controls": "\u0001\u001f\u007f\t\n\r",
            "quotes": "\"\\/",
            "nested": [{"\u00e9": ["\u0000", "\U0001F600"]}],
        }
        for ensure_ascii in (True, False):
            with self.subTest(ensure_ascii=ensure_ascii):
                body = json.dumps({"kind": "copy", "payload": payload},
                                  ensure_ascii=ensure_ascii).encode("utf-8")
                task = self.assert_created(self.post_raw(body))
                self.assertEqual(task["payload"], payload)
                self.assertEqual(self.server.task(task["id"])["payload"], payload)

                final = self.server.wait_status(task["id"], TERMINAL)
                self.assertEqual(final["status"], "completed", final)
                name = f"{task['id']}-1"
                with open(self.path(f"payload-{name}"), encoding="utf-8") as f:
                    self.assertEqual(json.load(f), payload)
                with open(self.path(f"stdin-{name}"), encoding="utf-8") as f:
                    self.assertEqual(json.load(f), payload)
                self.assertEqual(self.server.task(task["id"])["payload"], payload)
        self.assert_still_serving()


if __name__ == "__main__":
    unittest.main()
