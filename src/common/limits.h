/* Size limits shared by the server, the worker and the CLI. docs/api.md
 * lists them for users; change both together. */
#ifndef TASKRELAY_LIMITS_H
#define TASKRELAY_LIMITS_H

/* Default request body limit in bytes; the server's --max-body changes it. */
#define LIMIT_BODY_DEFAULT (4 * 1024 * 1024)
/* Default body limit of a worker's /execute: the server's default plus
 * room for the envelope around the payload, so any task the server
 * accepted also fits the push. */
#define LIMIT_EXECUTE_BODY_DEFAULT (LIMIT_BODY_DEFAULT + 64 * 1024)
#define LIMIT_KIND_LEN 64
#define LIMIT_IDEMPOTENCY_KEY_LEN 200
#define LIMIT_MESSAGE_LEN 1024
#define LIMIT_ERROR_LEN (64 * 1024)
#define LIMIT_LOG_TAIL_LEN (64 * 1024)
#define LIMIT_LIVE_LOG_LEN (1024 * 1024)
#define LIMIT_RESULT_LEN (1024 * 1024)
#define LIMIT_ARTIFACT_LEN (16 * 1024 * 1024)
#define LIMIT_ARTIFACT_NAME_LEN 128
#define LIMIT_WORKER_ID_LEN 64
#define LIMIT_MAX_ATTEMPTS 100
#define LIMIT_TIMEOUT_S 604800
#define LIMIT_BACKOFF_MS 3600000

#endif
