// Workers page (/workers): every worker the server has stored, kept
// current by the `worker` events of the stream of all tasks. That stream
// starts with the state of every worker.

import * as api from './api.js';
import { LiveStream } from './live.js';
import { el, formatAge, formatDateTime, progressBar, setProgress, statusBadge } from './format.js';

const STATUS_ORDER = { busy: 0, online: 1, offline: 2 };

export function renderWorkers(main, { reload, onTick }) {
  const workers = new Map();
  const tbody = el('tbody', { 'data-testid': 'worker-rows' });
  const summary = el('p', { class: 'muted', 'data-testid': 'workers-summary' });
  const emptyText = el('p', { class: 'muted empty', 'data-testid': 'workers-empty', hidden: true },
    'No worker has registered yet. Start one with: taskrelay worker --server URL --kind NAME=PROGRAM');
  const errorText = el('p', { class: 'error', role: 'alert', hidden: true });
  let closed = false;

  main.append(
    el('div', { class: 'page-head' }, el('h1', {}, 'Workers')),
    summary,
    errorText,
    el('div', { class: 'table-wrap' },
      el('table', { class: 'table workers-table', 'data-testid': 'workers-table' },
        el('thead', {}, el('tr', {},
          ['Worker', 'Status', 'Heartbeat', 'Slots', 'Current tasks', 'Kinds', 'Version', 'Completed', 'Failed']
            .map((title) => el('th', { scope: 'col' }, title)),
        )),
        tbody,
      ),
    ),
    emptyText,
  );

  function upsert(worker) {
    let row = workers.get(worker.id);
    if (!row) {
      row = buildRow(worker);
      workers.set(worker.id, row);
    }
    updateRow(row, worker, Date.now());
    placeRows();
  }

  // Busy workers first, then online, then offline; by id within a status.
  function placeRows() {
    const sorted = [...workers.values()].sort((a, b) =>
      (STATUS_ORDER[a.worker.status] ?? 3) - (STATUS_ORDER[b.worker.status] ?? 3)
      || a.worker.id.localeCompare(b.worker.id));
    tbody.replaceChildren(...sorted.map((row) => row.tr));
    emptyText.hidden = workers.size > 0;

    const online = sorted.filter((row) => row.worker.status !== 'offline');
    const slots = online.reduce((sum, row) => sum + (row.worker.slots || 0), 0);
    const running = online.reduce((sum, row) => sum + (row.worker.running || 0), 0);
    summary.textContent = `${online.length} of ${workers.size} workers online · ${running} of ${slots} slots in use`;
  }

  const stream = new LiveStream('/api/v1/stream', { worker: upsert, reset: reload });

  api.get('/api/v1/workers').then((body) => {
    if (closed) return;
    for (const worker of body.workers) {
      if (!workers.has(worker.id)) upsert(worker);
    }
    placeRows();
  }).catch((error) => {
    if (closed) return;
    errorText.textContent = `The workers could not be loaded: ${error.message}`;
    errorText.hidden = false;
  });

  onTick((nowMs) => {
    for (const row of workers.values()) updateHeartbeat(row, nowMs);
  });

  return () => {
    closed = true;
    stream.close();
  };
}

function buildRow(worker) {
  const row = {
    worker,
    statusCell: el('td', { 'data-label': 'Status' }),
    heartbeatCell: el('td', { 'data-label': 'Heartbeat', class: 'nowrap', 'data-testid': 'worker-heartbeat' }),
    slotsBar: progressBar(0, `Slots in use on ${worker.id}`, 'worker-slots-bar'),
    slotsText: el('span', { class: 'slots-text', 'data-testid': 'worker-slots' }),
    tasksCell: el('td', { 'data-label': 'Running', 'data-testid': 'worker-tasks' }),
    kindsCell: el('td', { 'data-label': 'Kinds', class: 'wrap' }),
    versionCell: el('td', { 'data-label': 'Version', class: 'mono' }),
    completedCell: el('td', { 'data-label': 'Completed', class: 'num', 'data-testid': 'worker-completed' }),
    failedCell: el('td', { 'data-label': 'Failed', class: 'num', 'data-testid': 'worker-failed' }),
  };
  row.idCell = el('td', { 'data-label': 'Worker', class: 'mono' });
  row.tr = el('tr', { 'data-testid': 'worker-row', 'data-worker-id': worker.id },
    row.idCell,
    row.statusCell,
    row.heartbeatCell,
    el('td', { 'data-label': 'Slots' }, el('div', { class: 'progress-line' }, row.slotsBar, row.slotsText)),
    row.tasksCell,
    row.kindsCell,
    row.versionCell,
    row.completedCell,
    row.failedCell,
  );
  return row;
}

function updateRow(row, worker, nowMs) {
  row.worker = worker;
  row.tr.dataset.status = worker.status;
  row.idCell.replaceChildren(
    el('span', { class: 'worker-id' }, worker.id),
    worker.address || worker.url ? el('span', { class: 'muted small' }, worker.address || worker.url) : null,
  );
  row.statusCell.replaceChildren(statusBadge(worker.status, 'worker-status'));

  const slots = worker.slots || 0;
  const running = worker.running || 0;
  setProgress(row.slotsBar, slots ? (running / slots) * 100 : 0, worker.status === 'offline' ? 'offline' : 'running');
  row.slotsText.textContent = `${running}/${slots}`;

  const tasks = worker.tasks || [];
  row.tasksCell.replaceChildren(...(tasks.length === 0
    ? [el('span', { class: 'muted' }, 'idle')]
    : tasks.map((run) => el('a', { href: `/tasks/${run.task_id}`, class: 'task-chip mono', 'data-testid': 'worker-task-link' },
      `#${run.task_id}${run.attempt > 1 ? ` (attempt ${run.attempt})` : ''}`))));
  row.kindsCell.replaceChildren(...(worker.kinds || []).map((kind) => el('span', { class: 'kind-chip mono' }, kind)));
  row.versionCell.textContent = worker.version || '—';
  row.completedCell.textContent = String(worker.completed ?? 0);
  row.failedCell.textContent = String(worker.failed ?? 0);
  updateHeartbeat(row, nowMs);
}

function updateHeartbeat(row, nowMs) {
  row.heartbeatCell.textContent = formatAge(row.worker.last_heartbeat_at, nowMs);
  row.heartbeatCell.title = formatDateTime(row.worker.last_heartbeat_at);
}
