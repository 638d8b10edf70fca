"""Request bodies around buffer and limit sizes, in three transfer forms.

Each body is a task of kind "copy" whose payload is one string padded so the
whole body has the exact size. Bodies up to the 4 MiB limit must create the
task, and the payload must reach the task program byte for byte. Bodies over
the limit must get 413, and the server must keep serving.
"""

import hashlib
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import (BODY_LIMIT, TaskrelayTestCase, raw_request, sha256_hex,  # noqa: E402
                     wait_for)

TERMINAL = ("completed", "failed", "canceled")
MIB = 1024 * 1024
SIZES = [0, 1, 1023, 1024, 1025, 4095, 4096, 4097, 65535, 65536, 65537, MIB,
         BODY_LIMIT - 1, BODY_LIMIT, BODY_LIMIT + 1]
BODY_PREFIX = b'{"kind":"copy","payload":"'
BODY_SUFFIX = b'"}'
CHUNK_LEN = 8000
# NOTE: one write per byte costs a system call per byte, so bodies over
# BYTEWISE_MAX_LEN send only their first BYTEWISE_MAX_LEN bytes that way and
# the rest in one write.
BYTEWISE_MAX_LEN = 65537


def filler(length):
    """Return length bytes of letters and digits that differ along the body."""
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    seed = hashlib.sha256(str(length).encode()).digest()
    block = bytes(alphabet[b % len(alphabet)] for b in seed * 32)
    return (block * (length // len(block) + 1))[:length]


def make_body(size):
    """Return (body, payload string or None when the body is too small for a task)."""
    overhead = len(BODY_PREFIX) + len(BODY_SUFFIX)
    if size < overhead:
        return b"{" * size, None
    text = filler(size - overhead)
    return BODY_PREFIX + text + BODY_SUFFIX, text.decode("ascii")


def request_head(port, token, extra):
    lines = [b"POST /api/v1/tasks HTTP/1.1",
             b"Host: 127.0.0.1:" + str(port).encode(),
             b"Authorization: Bearer " + token.encode(),
             b"Content-Type: application/json",
             b"Connection: close"] + extra
    return b"\r\n".join(lines) + b"\r\n\r\n"


def send_with_length(port, token, body):
    head = request_head(port, token, [b"Content-Length: " + str(len(body)).encode()])
    return raw_request("127.0.0.1", port, head, [body])


def send_chunked(port, token, body):
    head = request_head(port, token, [b"Transfer-Encoding: chunked"])
    pieces = []
    for start in range(0, len(body), CHUNK_LEN):
        chunk = body[start:start + CHUNK_LEN]
        pieces.append(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    pieces.append(b"0\r\n\r\n")
    return raw_request("127.0.0.1", port, head, pieces)


def send_bytewise(port, token, body):
    head = request_head(port, token, [b"Content-Length: " + str(len(body)).encode()])
    split = min(len(body), BYTEWISE_MAX_LEN)
    pieces = [body[i:i + 1] for i in range(split)]
    if split < len(body):
        pieces.append(body[split:])
    return raw_request("127.0.0.1", port, head, pieces)


MODES = {"content-length": send_with_length, "chunked": send_chunked,
         "bytewise": send_bytewise}


class BodySizeTest(TaskrelayTestCase):

    def test_body_sizes(self):
        server = self.start_server(heartbeat_ms=1000)
        self.start_worker(server, slots=4, kinds={"copy": "copy.sh"})

        accepted = {}
        for size in SIZES:
            body, text = make_body(size)
            self.assertEqual(len(body), size)
            for mode, send in MODES.items():
                with self.subTest(size=size, mode=mode):
                    result = send(server.port, server.api_token, body)
                    self.assertIsNotNone(result.status, result)
                    if size > BODY_LIMIT:
                        self.assertEqual(result.status, 413, result)
                        self.assertEqual(result.response.error_code(), "too_large", result)
                    elif text is None:
                        self.assertEqual(result.status, 400, result)
                        self.assertEqual(result.response.error_code(), "invalid_json", result)
                    else:
                        self.assertEqual(result.status, 201, result)
                        accepted[result.response.json["id"]] = (size, mode, text)
                    self.assertEqual(server.api("GET", "/api/v1/tasks?limit=1").status, 200)

        expected_count = sum(1 for s in SIZES if 28 <= s <= BODY_LIMIT) * len(MODES)
        self.assertEqual(len(accepted), expected_count)

        self.wait_all_terminal(server, accepted, timeout_s=60)
        for task_id, (size, mode, text) in sorted(accepted.items()):
            with self.subTest(task=task_id, size=size, mode=mode):
                final = server.task(task_id)
                self.assertEqual(final["status"], "completed",
                                 f"task {task_id} ({size} bytes, {mode}) is {final['status']}, "
                                 f"error {final.get('error')!r}")
                expected_hash = sha256_hex(text.encode("ascii"))
                name = f"{task_id}-1"
                payload_file = wait_for(lambda: os.path.exists(self.path(f"stdin-{name}")), 10,
                                        message=f"copies of task {task_id}")
                self.assertTrue(payload_file)
                from_file = json.loads(self.read_bytes(f"payload-{name}"))
                from_stdin = json.loads(self.read_bytes(f"stdin-{name}"))
                self.assertEqual(sha256_hex(from_file.encode("ascii")), expected_hash)
                self.assertEqual(sha256_hex(from_stdin.encode("ascii")), expected_hash)
                stored = server.task(task_id)["payload"]
                self.assertEqual(sha256_hex(stored.encode("ascii")), expected_hash)

        self.assertEqual(len(self.ledger()), expected_count)
        small = self.assert_created(server.create_task("copy", {"after": "limits"}))
        self.assertEqual(server.wait_status(small["id"], TERMINAL)["status"], "completed")

    @staticmethod
    def wait_all_terminal(server, task_ids, timeout_s):
        """Wait until every task ended or timeout_s passed, whichever is first."""
        deadline = time.monotonic() + timeout_s
        waiting = set(task_ids)
        while waiting and time.monotonic() < deadline:
            for task_id in list(waiting):
                if server.task(task_id)["status"] in TERMINAL:
                    waiting.discard(task_id)
            time.sleep(0.2)


if __name__ == "__main__":
    unittest.main()
