#include "worker/run_table.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct run_entry {
    struct run_view view;
    int acked;
};

/* Open-addressing hash map from task id to the newest accepted attempt;
 * key 0 marks an empty cell because task ids are positive. */
struct attempt_map {
    long long *keys;
    int *attempts;
    size_t cap; /* a power of two */
    size_t count;
};

struct run_table {
    pthread_mutex_t lock;
    int slots;
    int used;
    int shutting_down;
    struct run_entry *runs;
    int run_count;
    int run_cap;
    struct attempt_map history;
};

static size_t hash_task_id(long long task_id, size_t cap)
{
    unsigned long long h = (unsigned long long)task_id * 0x9e3779b97f4a7c15ULL;

    return (size_t)(h >> 17) & (cap - 1);
}

static size_t map_find_cell(const struct attempt_map *map, long long task_id)
{
    size_t i = hash_task_id(task_id, map->cap);

    while (map->keys[i] != 0 && map->keys[i] != task_id)
        i = (i + 1) & (map->cap - 1);
    return i;
}

static void map_grow(struct attempt_map *map)
{
    struct attempt_map bigger = {
        .keys = xcalloc(map->cap * 2, sizeof(long long)),
        .attempts = xcalloc(map->cap * 2, sizeof(int)),
        .cap = map->cap * 2,
        .count = map->count,
    };

    for (size_t i = 0; i < map->cap; i++) {
        if (map->keys[i] == 0)
            continue;
        size_t cell = map_find_cell(&bigger, map->keys[i]);
        bigger.keys[cell] = map->keys[i];
        bigger.attempts[cell] = map->attempts[i];
    }
    free(map->keys);
    free(map->attempts);
    *map = bigger;
}

/* Returns the newest attempt recorded for task_id, or 0. */
static int map_get(const struct attempt_map *map, long long task_id)
{
    size_t cell = map_find_cell(map, task_id);

    return map->keys[cell] == task_id ? map->attempts[cell] : 0;
}

static void map_put_max(struct attempt_map *map, long long task_id, int attempt)
{
    size_t cell;

    if ((map->count + 1) * 4 > map->cap * 3)
        map_grow(map);
    cell = map_find_cell(map, task_id);
    if (map->keys[cell] == 0) {
        map->keys[cell] = task_id;
        map->attempts[cell] = attempt;
        map->count++;
    } else if (attempt > map->attempts[cell]) {
        map->attempts[cell] = attempt;
    }
}

struct run_table *run_table_new(int slots)
{
    struct run_table *table = xcalloc(1, sizeof(*table));

    pthread_mutex_init(&table->lock, NULL);
    table->slots = slots;
    table->history.cap = 64;
    table->history.keys = xcalloc(table->history.cap, sizeof(long long));
    table->history.attempts = xcalloc(table->history.cap, sizeof(int));
    return table;
}

void run_table_free(struct run_table *table)
{
    if (!table)
        return;
    pthread_mutex_destroy(&table->lock);
    free(table->runs);
    free(table->history.keys);
    free(table->history.attempts);
    free(table);
}

static struct run_entry *find_run(struct run_table *table, long long task_id, int attempt)
{
    for (int i = 0; i < table->run_count; i++) {
        if (table->runs[i].view.task_id == task_id && table->runs[i].view.attempt == attempt)
            return &table->runs[i];
    }
    return NULL;
}

static struct run_entry *append_run(struct run_table *table, long long task_id, int attempt,
                                    enum run_phase phase)
{
    struct run_entry *entry;

    if (table->run_count == table->run_cap) {
        table->run_cap = table->run_cap ? table->run_cap * 2 : 8;
        table->runs = xrealloc(table->runs, (size_t)table->run_cap * sizeof(*table->runs));
    }
    entry = &table->runs[table->run_count++];
    memset(entry, 0, sizeof(*entry));
    entry->view.task_id = task_id;
    entry->view.attempt = attempt;
    entry->view.phase = phase;
    return entry;
}

static void remove_run(struct run_table *table, struct run_entry *entry)
{
    size_t index = (size_t)(entry - table->runs);

    memmove(entry, entry + 1, (size_t)(table->run_count - 1 - (int)index) * sizeof(*entry));
    table->run_count--;
}

static long long any_active_task(const struct run_table *table)
{
    for (int i = 0; i < table->run_count; i++) {
        if (table->runs[i].view.phase != RUN_FINISHED)
            return table->runs[i].view.task_id;
    }
    return 0;
}

enum run_take_result run_table_take(struct run_table *table, long long task_id, int attempt,
                                    long long *current_task)
{
    enum run_take_result result;
    int newest;

    pthread_mutex_lock(&table->lock);
    newest = map_get(&table->history, task_id);
    if (newest == attempt) {
        result = RUN_TAKE_DUPLICATE;
    } else if (newest > attempt) {
        result = RUN_TAKE_STALE;
    } else if (table->shutting_down) {
        result = RUN_TAKE_SHUTTING_DOWN;
    } else if (table->used >= table->slots) {
        *current_task = any_active_task(table);
        result = RUN_TAKE_BUSY;
    } else {
        append_run(table, task_id, attempt, RUN_STARTING);
        map_put_max(&table->history, task_id, attempt);
        table->used++;
        result = RUN_TAKE_OK;
    }
    pthread_mutex_unlock(&table->lock);
    return result;
}

void run_table_remember(struct run_table *table, long long task_id, int attempt)
{
    pthread_mutex_lock(&table->lock);
    map_put_max(&table->history, task_id, attempt);
    pthread_mutex_unlock(&table->lock);
}

void run_table_set_phase(struct run_table *table, long long task_id, int attempt,
                         enum run_phase phase, int pid)
{
    struct run_entry *entry;

    pthread_mutex_lock(&table->lock);
    entry = find_run(table, task_id, attempt);
    if (entry && entry->view.phase != RUN_FINISHED && phase != RUN_FINISHED) {
        entry->view.phase = phase;
        if (pid > 0)
            entry->view.pid = pid;
    }
    pthread_mutex_unlock(&table->lock);
}

int run_table_release(struct run_table *table, long long task_id, int attempt)
{
    struct run_entry *entry;
    int forgotten = 0;

    pthread_mutex_lock(&table->lock);
    entry = find_run(table, task_id, attempt);
    if (entry && entry->view.phase != RUN_FINISHED) {
        table->used--;
        entry->view.phase = RUN_FINISHED;
        if (entry->acked) {
            remove_run(table, entry);
            forgotten = 1;
        }
    }
    pthread_mutex_unlock(&table->lock);
    return forgotten;
}

void run_table_add_finished(struct run_table *table, long long task_id, int attempt)
{
    pthread_mutex_lock(&table->lock);
    if (!find_run(table, task_id, attempt))
        append_run(table, task_id, attempt, RUN_FINISHED);
    map_put_max(&table->history, task_id, attempt);
    pthread_mutex_unlock(&table->lock);
}

int run_table_ack(struct run_table *table, long long task_id, int attempt)
{
    struct run_entry *entry;
    int forgotten = 0;

    pthread_mutex_lock(&table->lock);
    entry = find_run(table, task_id, attempt);
    if (entry && !entry->acked) {
        entry->acked = 1;
        if (entry->view.phase == RUN_FINISHED) {
            remove_run(table, entry);
            forgotten = 1;
        }
    }
    pthread_mutex_unlock(&table->lock);
    return forgotten;
}

int run_table_snapshot(struct run_table *table, struct run_view **out)
{
    int count;

    pthread_mutex_lock(&table->lock);
    count = table->run_count;
    *out = xcalloc((size_t)(count ? count : 1), sizeof(**out));
    for (int i = 0; i < count; i++)
        (*out)[i] = table->runs[i].view;
    pthread_mutex_unlock(&table->lock);
    return count;
}

void run_table_counts(struct run_table *table, int *slots, int *used)
{
    pthread_mutex_lock(&table->lock);
    *slots = table->slots;
    *used = table->used;
    pthread_mutex_unlock(&table->lock);
}

void run_table_set_shutting_down(struct run_table *table)
{
    pthread_mutex_lock(&table->lock);
    table->shutting_down = 1;
    pthread_mutex_unlock(&table->lock);
}

int run_table_is_shutting_down(struct run_table *table)
{
    int value;

    pthread_mutex_lock(&table->lock);
    value = table->shutting_down;
    pthread_mutex_unlock(&table->lock);
    return value;
}
