// Task list (/tasks?status=S&kind=K&limit=N&cursor=C): one page of tasks
// from the server, newest first, with counts per status, kept current by
// the stream of all tasks.
//
// The server pages with an opaque cursor, so only "older" can be computed
// from a response. The cursors of the pages before the current one are kept
// in history.state, which survives a reload, to offer "newer".

import * as api from './api.js';
import { LiveStream } from './live.js';
import {
  el, formatAge, formatDateTime, formatDuration, parseTime, progressBar, setProgress,
  statusBadge, TASK_STATUSES, TERMINAL_STATUSES,
} from './format.js';

const PAGE_SIZES = [25, 50, 100, 200, 500];
const DEFAULT_PAGE_SIZE = 50;
const COUNTS_REFRESH_DELAY_MS = 1000;

export function renderTaskList(main, { query, navigate, reload, onTick }) {
  const filter = readFilter(query);
  const previousCursors = (history.state && history.state.previousCursors) || [];
  const rows = new Map();
  let stream = null;
  let countsTimer = null;
  let closed = false;
  let eventsBeforeLoad = [];
  let loaded = false;

  const countsBar = el('div', { class: 'counts', 'data-testid': 'status-counts', 'aria-label': 'Tasks per status' });
  const tbody = el('tbody', { 'data-testid': 'task-rows' });
  const emptyText = el('p', { class: 'muted empty', 'data-testid': 'tasks-empty', hidden: true }, 'No tasks match this filter.');
  const errorText = el('p', { class: 'error', role: 'alert', 'data-testid': 'tasks-error', hidden: true });
  const pager = el('nav', { class: 'pager', 'aria-label': 'Pages' });
  const newNotice = el('p', { class: 'notice', 'data-testid': 'tasks-new-notice', hidden: true });

  main.append(
    el('div', { class: 'page-head' },
      el('h1', {}, 'Tasks'),
      el('a', { class: 'button primary', href: '/new', 'data-testid': 'start-task-link' }, 'Start a task'),
    ),
    countsBar,
    renderFilterForm(filter, (changes) => navigate(filterUrl({ ...filter, ...changes, cursor: null }))),
    errorText,
    newNotice,
    el('div', { class: 'table-wrap' },
      el('table', { class: 'table tasks-table', 'data-testid': 'tasks-table' },
        el('thead', {}, el('tr', {},
          el('th', { scope: 'col' }, 'ID'),
          el('th', { scope: 'col' }, 'Status'),
          el('th', { scope: 'col' }, 'Kind'),
          el('th', { scope: 'col' }, 'Worker'),
          el('th', { scope: 'col', class: 'col-progress' }, 'Progress'),
          el('th', { scope: 'col' }, 'Age'),
          el('th', { scope: 'col' }, 'Duration'),
        )),
        tbody,
      ),
    ),
    emptyText,
    pager,
  );

  function applyTask(task) {
    const row = rows.get(task.id);
    if (row) {
      if (isOlder(task, row.task)) return;
      updateRow(row, task);
      return;
    }
    if (filter.cursor || !matchesFilter(task, filter)) return;

    const created = buildRow(task);
    rows.set(task.id, created);
    tbody.prepend(created.tr);
    emptyText.hidden = true;
    newNotice.hidden = false;
    newNotice.textContent = `${rows.size} tasks shown; new tasks were added at the top since the page loaded.`;
  }

  function scheduleCountsRefresh() {
    if (countsTimer) return;
    countsTimer = setTimeout(async () => {
      countsTimer = null;
      try {
        const body = await api.get(listUrl({ kind: filter.kind, limit: 1 }));
        if (!closed) renderCounts(countsBar, body.counts, filter);
      } catch (error) {
        console.warn('taskrelay: counts refresh failed', error);
      }
    }, COUNTS_REFRESH_DELAY_MS);
  }

  // The stream opens before the list is read, so no change is missed;
  // events that arrive first are applied after the list, if newer.
  stream = new LiveStream('/api/v1/stream', {
    task: (task) => {
      if (!loaded) {
        eventsBeforeLoad.push(task);
        return;
      }
      applyTask(task);
      scheduleCountsRefresh();
    },
    reset: reload,
  }, { onReconnect: scheduleCountsRefresh });

  api.get(listUrl(filter)).then((body) => {
    if (closed) return;
    renderCounts(countsBar, body.counts, filter);
    for (const task of body.tasks) {
      const row = buildRow(task);
      rows.set(task.id, row);
      tbody.append(row.tr);
    }
    emptyText.hidden = body.tasks.length > 0;
    renderPager(pager, filter, previousCursors, body.next_cursor, navigate);

    loaded = true;
    for (const task of eventsBeforeLoad) applyTask(task);
    eventsBeforeLoad = [];
  }).catch((error) => {
    if (closed) return;
    errorText.textContent = `The task list could not be loaded: ${error.message}`;
    errorText.hidden = false;
  });

  onTick((nowMs) => {
    for (const row of rows.values()) updateTimes(row, nowMs);
  });

  return () => {
    closed = true;
    clearTimeout(countsTimer);
    stream.close();
  };
}

function readFilter(query) {
  const limit = Number(query.get('limit'));
  return {
    status: TASK_STATUSES.includes(query.get('status')) ? query.get('status') : '',
    kind: query.get('kind') || '',
    cursor: query.get('cursor') || '',
    limit: PAGE_SIZES.includes(limit) ? limit : DEFAULT_PAGE_SIZE,
  };
}

// The dashboard URL of a filter; default values are left out.
function filterUrl({ status, kind, cursor, limit }) {
  const params = new URLSearchParams();
  if (status) params.set('status', status);
  if (kind) params.set('kind', kind);
  if (limit && limit !== DEFAULT_PAGE_SIZE) params.set('limit', String(limit));
  if (cursor) params.set('cursor', cursor);
  const search = params.toString();
  return search ? `/tasks?${search}` : '/tasks';
}

function listUrl({ status, kind, cursor, limit }) {
  const params = new URLSearchParams();
  if (status) params.set('status', status);
  if (kind) params.set('kind', kind);
  if (cursor) params.set('cursor', cursor);
  params.set('limit', String(limit || DEFAULT_PAGE_SIZE));
  return `/api/v1/tasks?${params}`;
}

function matchesFilter(task, filter) {
  if (filter.status && task.status !== filter.status) return false;
  if (filter.kind && task.kind !== filter.kind) return false;
  return true;
}

// Whether `candidate` is an older state of the task than `current`, so a
// late stream event does not undo a newer list response.
function isOlder(candidate, current) {
  const candidateMs = parseTime(candidate.updated_at);
  const currentMs = parseTime(current.updated_at);
  if (candidateMs === null || currentMs === null) return false;
  return candidateMs < currentMs;
}

function renderFilterForm(filter, onChange) {
  const statusSelect = el('select', { id: 'filter-status', name: 'status', 'data-testid': 'filter-status' },
    el('option', { value: '' }, 'All statuses'),
    TASK_STATUSES.map((status) => el('option', { value: status, selected: status === filter.status }, status)),
  );
  const kindInput = el('input', {
    id: 'filter-kind', name: 'kind', type: 'search', value: filter.kind,
    placeholder: 'any kind', 'data-testid': 'filter-kind', autocomplete: 'off',
  });
  const sizeSelect = el('select', { id: 'filter-limit', name: 'limit', 'data-testid': 'filter-limit' },
    PAGE_SIZES.map((size) => el('option', { value: size, selected: size === filter.limit }, String(size))),
  );

  statusSelect.addEventListener('change', () => onChange({ status: statusSelect.value }));
  sizeSelect.addEventListener('change', () => onChange({ limit: Number(sizeSelect.value) }));

  const form = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter tasks' },
    el('div', { class: 'field' }, el('label', { for: 'filter-status' }, 'Status'), statusSelect),
    el('div', { class: 'field' }, el('label', { for: 'filter-kind' }, 'Kind'), kindInput),
    el('div', { class: 'field' }, el('label', { for: 'filter-limit' }, 'Per page'), sizeSelect),
    el('button', { type: 'submit', class: 'button', 'data-testid': 'filter-apply' }, 'Apply'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    onChange({ kind: kindInput.value.trim() });
  });
  return form;
}

function renderCounts(countsBar, counts, filter) {
  const total = TASK_STATUSES.reduce((sum, status) => sum + (counts?.[status] || 0), 0);
  const chip = (status, label, count) => el('a', {
    class: `count-chip ${status ? `status-${status}` : 'all'}`,
    href: filterUrl({ ...filter, status, cursor: null }),
    'aria-current': filter.status === status ? 'true' : null,
    'data-testid': `count-${status || 'all'}`,
  }, el('span', { class: 'count-label' }, label), el('span', { class: 'count-value' }, String(count)));

  countsBar.replaceChildren(
    chip('', 'all', total),
    ...TASK_STATUSES.map((status) => chip(status, status, counts?.[status] || 0)),
  );
}

function renderPager(pager, filter, previousCursors, nextCursor, navigate) {
  const go = (cursor, stack) => navigate(filterUrl({ ...filter, cursor }), { state: { previousCursors: stack } });
  const buttons = [];

  if (filter.cursor) {
    buttons.push(el('button', { type: 'button', class: 'button', 'data-testid': 'page-first', onclick: () => go('', []) }, 'First page'));
    if (previousCursors.length > 0) {
      buttons.push(el('button', {
        type: 'button', class: 'button', 'data-testid': 'page-newer',
        onclick: () => go(previousCursors[previousCursors.length - 1], previousCursors.slice(0, -1)),
      }, '← Newer'));
    }
  }
  if (nextCursor) {
    buttons.push(el('button', {
      type: 'button', class: 'button', 'data-testid': 'page-older',
      onclick: () => go(nextCursor, [...previousCursors, filter.cursor]),
    }, 'Older →'));
  }
  pager.replaceChildren(...buttons);
}

function buildRow(task) {
  const idLink = el('a', { href: `/tasks/${task.id}`, 'data-testid': 'task-link' }, `#${task.id}`);
  const statusCell = el('td', { 'data-label': 'Status' });
  const workerCell = el('td', { 'data-label': 'Worker', class: 'mono' });
  const bar = progressBar(task.progress, `Progress of task ${task.id}`, 'task-row-progress');
  const percentText = el('span', { class: 'progress-percent' });
  const messageText = el('span', { class: 'progress-message', 'data-testid': 'task-row-message' });
  const ageCell = el('td', { 'data-label': 'Age', class: 'nowrap' });
  const durationCell = el('td', { 'data-label': 'Duration', class: 'nowrap' });

  const tr = el('tr', { 'data-testid': 'task-row', 'data-task-id': task.id },
    el('td', { 'data-label': 'ID', class: 'mono' }, idLink),
    statusCell,
    el('td', { 'data-label': 'Kind', class: 'mono' }, task.kind),
    workerCell,
    el('td', { 'data-label': 'Progress', class: 'col-progress' },
      el('div', { class: 'progress-line' }, bar, percentText),
      messageText,
    ),
    ageCell,
    durationCell,
  );

  const row = { tr, task, statusCell, workerCell, bar, percentText, messageText, ageCell, durationCell };
  updateRow(row, task);
  return row;
}

function updateRow(row, task) {
  row.task = task;
  row.tr.dataset.status = task.status;
  row.statusCell.replaceChildren(statusBadge(task.status, 'task-row-status'));
  row.workerCell.textContent = task.worker_id || '—';
  setProgress(row.bar, task.progress, task.status);
  row.percentText.textContent = `${task.progress ?? 0}%`;
  row.messageText.textContent = task.message || (task.error ? firstLine(task.error) : '');
  row.ageCell.title = formatDateTime(task.created_at);
  updateTimes(row, Date.now());
}

function updateTimes(row, nowMs) {
  const { task } = row;
  row.ageCell.textContent = formatAge(task.created_at, nowMs);

  const startedMs = parseTime(task.started_at);
  if (startedMs === null) {
    row.durationCell.textContent = '—';
    return;
  }
  const endMs = TERMINAL_STATUSES.has(task.status) ? parseTime(task.finished_at) ?? nowMs : nowMs;
  row.durationCell.textContent = formatDuration(endMs - startedMs);
}

function firstLine(text) {
  const line = String(text).split('\n', 1)[0];
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
