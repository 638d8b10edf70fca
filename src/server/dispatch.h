/* Push dispatch: one thread assigns ready tasks to workers with a free slot
 * the moment it is woken (a task created, a slot freed), and a small pool
 * of threads sends the pushes. It also tracks worker liveness by the
 * server's own monotonic clock and reconciles each heartbeat's list of
 * runs with the store. */
#ifndef TASKRELAY_DISPATCH_H
#define TASKRELAY_DISPATCH_H

#include <jansson.h>
#include <stdint.h>

struct app;
struct dispatcher;

/* Loads known workers from the store and starts the threads. Workers that
 * were online get a full offline threshold from now to check in. */
struct dispatcher *dispatcher_start(struct app *app);
void dispatcher_stop(struct dispatcher *d);

/* Asks for a dispatch round now. Cheap; callable from any thread. */
void dispatcher_wake(struct dispatcher *d);

/* Claims ready tasks for free slots in the caller's thread, so that the
 * claims join the store commit the caller is about to sync (a create, a
 * final report). freed_worker_id names a worker whose slot the caller just
 * freed, or is NULL. Returns NULL when nothing was claimed. */
struct dispatch_claims *dispatcher_claim_now(struct dispatcher *d, const char *freed_worker_id);
/* Syncs the store, which makes the caller's writes and the claims durable,
 * then pushes the claimed tasks (or, after a failed sync, drops them) and
 * frees claims, which may be NULL. Returns 1 when the sync succeeded. */
int dispatcher_sync_and_push(struct dispatcher *d, struct dispatch_claims *claims);

/* Returns 1 when some worker ever advertised kind or the server was
 * started with it. */
int dispatcher_kind_known(struct dispatcher *d, const char *kind);
/* Returns [{"name", "workers_online"}], a new reference. */
json_t *dispatcher_kinds(struct dispatcher *d);

/* Returns 1 when worker_id belongs to an online worker at another URL,
 * whose registration must not be taken over. */
int dispatcher_worker_in_use(struct dispatcher *d, const char *worker_id, const char *url);

/* Records a registration; kinds is a JSON array of strings (borrowed). */
void dispatcher_worker_registered(struct dispatcher *d, const char *worker_id,
                                  const char *url, int slots, json_t *kinds);

/* Records a heartbeat and reconciles runs (borrowed JSON array of
 * {task_id, attempt, state}) with the store. Returns the runs the worker
 * must kill as a new JSON array. */
json_t *dispatcher_heartbeat(struct dispatcher *d, const char *worker_id, int slots,
                             int free_slots, json_t *runs);

/* Notes that a report from worker_id arrived: it is alive, and a slot may
 * have freed. */
void dispatcher_report_received(struct dispatcher *d, const char *worker_id, int finished);

/* Tells a worker to kill a run, in the background. */
void dispatcher_send_cancel(struct dispatcher *d, const char *worker_id, int64_t task_id,
                            int attempt);

#endif
