// The parts of the task page built from the task's events and artifacts:
// the timeline, the attempt history and the artifact list.

import {
  el, formatBytes, formatClock, formatDateTime, formatDuration, parseTime, statusBadge,
} from './format.js';

const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp', 'svg', 'avif', 'bmp']);
const ENDING_TYPES = new Set(['completed', 'failed', 'canceled', 'requeued', 'lost']);

// The task's events by `seq`: those of GET .../events, plus the ones derived
// from live `task` stream events, which carry the task object but no type.
export class TaskTimeline {
  constructor() {
    this.events = new Map();
    this.tbody = el('tbody', { 'data-testid': 'timeline-rows' });
    this.node = el('div', { class: 'table-wrap' },
      el('table', { class: 'table compact timeline', 'data-testid': 'timeline' },
        el('thead', {}, el('tr', {},
          el('th', { scope: 'col' }, 'Time'),
          el('th', { scope: 'col' }, 'Attempt'),
          el('th', { scope: 'col' }, 'Event'),
          el('th', { scope: 'col' }, 'Status'),
          el('th', { scope: 'col' }, 'Progress'),
          el('th', { scope: 'col' }, 'Message'),
        )),
        this.tbody,
      ),
    );
    this.lastRenderedSeq = 0;
  }

  // Replaces the events up to the list's highest `seq` by the server's list,
  // which has the exact types. Newer live events stay.
  load(events) {
    const maxSeq = events.reduce((max, event) => Math.max(max, event.seq), 0);
    for (const seq of [...this.events.keys()]) {
      if (seq <= maxSeq) this.events.delete(seq);
    }
    for (const event of events) this.events.set(event.seq, event);
    this.renderAll();
  }

  // Adds the state after a live change as an event, with a type inferred
  // from the previous state. Returns false for a seq already known.
  addLive(seq, task, previous) {
    if (!Number.isFinite(seq) || this.events.has(seq)) return false;

    const event = {
      seq,
      task_id: task.id,
      attempt: task.attempt,
      type: inferType(task, previous),
      status: task.status,
      progress: task.progress,
      message: task.message,
      at: task.updated_at,
    };
    this.events.set(seq, event);
    if (seq > this.lastRenderedSeq) {
      this.tbody.append(timelineRow(event));
      this.lastRenderedSeq = seq;
    } else {
      this.renderAll();
    }
    return true;
  }

  sorted() {
    return [...this.events.values()].sort((a, b) => a.seq - b.seq);
  }

  renderAll() {
    const events = this.sorted();
    this.tbody.replaceChildren(...events.map(timelineRow));
    this.lastRenderedSeq = events.length ? events[events.length - 1].seq : 0;
  }
}

function inferType(task, previous) {
  if (!previous) return task.status === 'pending' ? 'created' : task.status;
  if (task.attempt > previous.attempt) return 'requeued';
  if (task.status === previous.status) return 'progress';
  if (task.status === 'running') return 'started';
  if (task.status === 'pending') return 'requeued';
  return task.status;
}

function timelineRow(event) {
  return el('tr', { 'data-testid': 'timeline-row', 'data-type': event.type, 'data-seq': event.seq },
    el('td', { 'data-label': 'Time', class: 'nowrap mono', title: formatDateTime(event.at) }, formatClock(event.at)),
    el('td', { 'data-label': 'Attempt' }, String(event.attempt ?? '—')),
    el('td', { 'data-label': 'Event' }, event.type),
    el('td', { 'data-label': 'Status' }, statusBadge(event.status)),
    el('td', { 'data-label': 'Progress' }, event.progress === null || event.progress === undefined ? '—' : `${event.progress}%`),
    el('td', { 'data-label': 'Message', class: 'wrap' }, event.message || ''),
  );
}

// Renders one row per attempt: its worker, when it was queued, started and
// ended, its final status and its last message. Events carry `worker_id`
// where the server stores it; the current attempt falls back to the task's.
export function renderAttempts(container, events, task) {
  const attempts = new Map();
  for (const event of events) {
    const number = event.attempt ?? 1;
    if (!attempts.has(number)) {
      attempts.set(number, { number, queuedAt: event.at, startedAt: null, endedAt: null, end: null, status: event.status, message: '', workerId: null });
    }
    const attempt = attempts.get(number);
    attempt.status = event.status;
    if (event.worker_id) attempt.workerId = event.worker_id;
    if (event.message) attempt.message = event.message;
    if (event.type === 'started' && !attempt.startedAt) attempt.startedAt = event.at;
    if (ENDING_TYPES.has(event.type)) {
      attempt.endedAt = event.at;
      attempt.end = event.type;
    }
  }

  const rows = [...attempts.values()].map((attempt) => {
    const startedMs = parseTime(attempt.startedAt);
    const endedMs = parseTime(attempt.endedAt);
    const duration = startedMs !== null && endedMs !== null ? formatDuration(endedMs - startedMs) : '—';
    const isCurrent = attempt.number === task.attempt;
    const message = isCurrent && task.error && attempt.end === 'failed' ? task.error.split('\n', 1)[0] : attempt.message;
    return el('tr', { 'data-testid': 'attempt-row', 'data-attempt': attempt.number },
      el('td', { 'data-label': 'Attempt' }, `${attempt.number}${isCurrent ? ' (current)' : ''}`),
      el('td', { 'data-label': 'Worker', class: 'mono' }, attempt.workerId || (isCurrent && task.worker_id) || '—'),
      el('td', { 'data-label': 'Queued', class: 'nowrap' }, formatDateTime(attempt.queuedAt)),
      el('td', { 'data-label': 'Started', class: 'nowrap' }, formatDateTime(attempt.startedAt)),
      el('td', { 'data-label': 'Ended', class: 'nowrap' }, formatDateTime(attempt.endedAt)),
      el('td', { 'data-label': 'Duration', class: 'nowrap' }, duration),
      el('td', { 'data-label': 'Outcome' }, attempt.end ? outcomeBadge(attempt.end) : statusBadge(attempt.status)),
      el('td', { 'data-label': 'Last message', class: 'wrap' }, message || ''),
    );
  });

  if (rows.length === 0) {
    container.replaceChildren(el('p', { class: 'muted' }, 'No attempts yet.'));
    return;
  }
  container.replaceChildren(el('div', { class: 'table-wrap' },
    el('table', { class: 'table compact', 'data-testid': 'attempts' },
      el('thead', {}, el('tr', {},
        ['Attempt', 'Worker', 'Queued', 'Started', 'Ended', 'Duration', 'Outcome', 'Last message']
          .map((title) => el('th', { scope: 'col' }, title)),
      )),
      el('tbody', {}, rows),
    ),
  ));
}

// An attempt ends in a final status, or is `requeued` or `lost` when the
// task went on with a new attempt.
function outcomeBadge(endType) {
  if (endType === 'requeued' || endType === 'lost') return el('span', { class: 'badge status-requeued' }, endType);
  return statusBadge(endType);
}

// Renders the artifact list with images inline.
export function renderArtifacts(container, taskId, artifacts) {
  if (!artifacts || artifacts.length === 0) {
    container.replaceChildren(el('p', { class: 'muted', 'data-testid': 'artifacts-empty' }, 'No artifacts.'));
    return;
  }

  const items = artifacts.map((artifact) => {
    const url = artifact.url || `/api/v1/tasks/${taskId}/artifacts/${encodeURIComponent(artifact.name)}`;
    const extension = artifact.name.includes('.') ? artifact.name.split('.').pop().toLowerCase() : '';
    const image = IMAGE_EXTENSIONS.has(extension)
      ? el('a', { href: url, target: '_blank', rel: 'noopener' },
        el('img', { src: url, alt: `Artifact ${artifact.name}`, loading: 'lazy', class: 'artifact-image', 'data-testid': 'artifact-image' }))
      : null;
    return el('li', { class: 'artifact', 'data-testid': 'artifact', 'data-name': artifact.name },
      el('div', { class: 'artifact-head' },
        el('a', { href: url, download: artifact.name, class: 'mono', 'data-testid': 'artifact-link' }, artifact.name),
        el('span', { class: 'muted' }, formatBytes(artifact.size)),
      ),
      image,
    );
  });
  container.replaceChildren(el('ul', { class: 'artifacts', 'data-testid': 'artifacts' }, items));
}
