// Task page (/tasks/{id}): live progress with elapsed time and an estimate
// of the time left, the live log, the timeline of events, attempts, result,
// error and artifacts, and the Cancel and Retry buttons.
//
// The task stream is opened before the first reads, and its events are held
// back until those reads are applied, so no change falls between them.

import * as api from './api.js';
import { LiveStream } from './live.js';
import {
  el, formatDateTime, formatDuration, formatJson, parseTime, progressBar, setProgress,
  statusBadge, TERMINAL_STATUSES, timeZoneName,
} from './format.js';
import { ProgressEstimator } from './task_estimate.js';
import { TaskLog } from './task_log.js';
import { TaskTimeline, renderArtifacts, renderAttempts } from './task_sections.js';

const CANCELABLE = new Set(['pending', 'dispatched', 'running']);
const RETRYABLE = new Set(['failed', 'canceled']);
const EVENTS_RELOAD_DELAY_MS = 300;

export function renderTask(main, { params, reload, onTick }) {
  const taskId = Number(params[0]);
  const base = `/api/v1/tasks/${taskId}`;
  const view = buildView(taskId);
  const estimator = new ProgressEstimator();
  const log = new TaskLog();
  const timeline = new TaskTimeline();
  let task = null;
  let loaded = false;
  let closed = false;
  let heldBack = [];
  let eventsReloadTimer = null;

  view.logSection.append(log.node);
  view.timelineSection.append(timeline.node);
  main.append(view.root);

  function applyTask(next, seq) {
    if (task && isOlder(next, task)) return;
    const previous = task;
    task = next;

    if (Number.isFinite(seq)) timeline.addLive(seq, next, previous);
    if (next.status === 'running' || next.status === 'completed') {
      estimator.add(next.attempt, next.updated_at, next.progress);
    }
    renderTaskState(view, next, estimator, Date.now());

    const statusChanged = !previous || previous.status !== next.status || previous.attempt !== next.attempt;
    if (previous && statusChanged) {
      scheduleEventsReload();
      loadArtifacts();
    }
    if (previous && next.attempt > previous.attempt) log.reset(next.attempt, '');
    if (TERMINAL_STATUSES.has(next.status)) log.showTailIfEmpty(next.log_tail);
    renderAttempts(view.attemptsSection, timeline.sorted(), next);
  }

  function applyEvents(events) {
    timeline.load(events);
    for (const event of events) {
      if (event.type === 'started') estimator.add(event.attempt, event.at, 0);
      if (event.type === 'progress' || event.type === 'completed') estimator.add(event.attempt, event.at, event.progress);
    }
    if (task) renderAttempts(view.attemptsSection, timeline.sorted(), task);
  }

  // Reloads the events after a status change, for their exact types (a live
  // event carries the task, not the type) and for events the stream merges.
  function scheduleEventsReload() {
    clearTimeout(eventsReloadTimer);
    eventsReloadTimer = setTimeout(async () => {
      try {
        const body = await api.get(`${base}/events`);
        if (!closed) applyEvents(body.events);
      } catch (error) {
        console.warn('taskrelay: events reload failed', error);
      }
    }, EVENTS_RELOAD_DELAY_MS);
  }

  async function loadArtifacts() {
    try {
      const body = await api.get(`${base}/artifacts`);
      if (!closed) renderArtifacts(view.artifactsSection, taskId, body.artifacts);
    } catch (error) {
      if (!closed) view.artifactsSection.replaceChildren(errorLine(`Artifacts could not be loaded: ${error.message}`));
    }
  }

  async function reloadLog() {
    const text = await api.get(`${base}/log`);
    if (!closed && task) log.reset(task.attempt, typeof text === 'string' ? text : '');
  }

  const stream = new LiveStream(`${base}/stream`, {
    task: (next, id) => {
      if (next.id !== taskId) return;
      const seq = id ? Number(id) : NaN;
      if (!loaded) heldBack.push(() => applyTask(next, seq));
      else applyTask(next, seq);
    },
    log: (chunk) => {
      if (chunk.task_id !== taskId) return;
      if (!loaded) heldBack.push(() => log.append(chunk.attempt, chunk.offset, chunk.text));
      else log.append(chunk.attempt, chunk.offset, chunk.text);
    },
    reset: reload,
  }, {
    // A reconnect replays only each task's newest state, and no log chunks,
    // so read the events and the log again.
    onReconnect: () => {
      if (!loaded) return;
      scheduleEventsReload();
      reloadLog().catch((error) => console.warn('taskrelay: log reload failed', error));
    },
  });

  loadInitial();

  async function loadInitial() {
    try {
      const [first, eventsBody, logText] = await Promise.all([
        api.get(base), api.get(`${base}/events`), api.get(`${base}/log`),
      ]);
      if (closed) return;

      applyEvents(eventsBody.events);
      applyTask(first, NaN);
      log.reset(first.attempt, typeof logText === 'string' ? logText : '');
      if (TERMINAL_STATUSES.has(first.status)) log.showTailIfEmpty(first.log_tail);
      loadArtifacts();

      loaded = true;
      for (const apply of heldBack) apply();
      heldBack = [];
      view.root.dataset.loaded = 'true';
    } catch (error) {
      if (closed) return;
      stream.close();
      const text = error.status === 404 ? `Task ${taskId} does not exist.` : `Task ${taskId} could not be loaded: ${error.message}`;
      main.replaceChildren(el('h1', {}, `Task #${taskId}`), errorLine(text), el('p', {}, el('a', { href: '/tasks' }, 'Back to the task list')));
    }
  }

  view.cancelButton.addEventListener('click', () => changeTask('cancel'));
  view.retryButton.addEventListener('click', () => changeTask('retry'));

  async function changeTask(action) {
    const button = action === 'cancel' ? view.cancelButton : view.retryButton;
    view.actionError.hidden = true;
    button.disabled = true;
    try {
      const body = await api.post(`${base}/${action}`);
      if (body && body.id === taskId) applyTask(body, NaN);
    } catch (error) {
      view.actionError.textContent = `${action === 'cancel' ? 'Cancel' : 'Retry'} failed: ${error.message}`;
      view.actionError.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  onTick((nowMs) => {
    if (task) renderTimes(view, task, estimator, nowMs);
  });

  return () => {
    closed = true;
    clearTimeout(eventsReloadTimer);
    stream.close();
  };
}

function isOlder(candidate, current) {
  if (candidate.attempt !== current.attempt) return candidate.attempt < current.attempt;
  const candidateMs = parseTime(candidate.updated_at);
  const currentMs = parseTime(current.updated_at);
  if (candidateMs === null || currentMs === null) return false;
  return candidateMs < currentMs;
}

function errorLine(text) {
  return el('p', { class: 'error', role: 'alert' }, text);
}

function buildView(taskId) {
  const view = {};
  view.statusSlot = el('span', { 'data-testid': 'task-status-slot' });
  view.cancelButton = el('button', { type: 'button', class: 'button danger', 'data-testid': 'task-cancel', 'aria-label': `Cancel task ${taskId}`, hidden: true }, 'Cancel');
  view.retryButton = el('button', { type: 'button', class: 'button', 'data-testid': 'task-retry', 'aria-label': `Retry task ${taskId}`, hidden: true }, 'Retry');
  view.actionError = el('p', { class: 'error', role: 'alert', 'data-testid': 'task-action-error', hidden: true });
  view.subtitle = el('p', { class: 'muted subtitle', 'data-testid': 'task-subtitle' });

  view.bar = progressBar(0, `Progress of task ${taskId}`, 'task-progress');
  view.bar.classList.add('large');
  view.percent = el('span', { class: 'progress-big', 'data-testid': 'task-progress-percent' }, '0%');
  view.message = el('p', { class: 'progress-message-big', 'data-testid': 'task-message' });
  view.elapsed = el('span', { 'data-testid': 'task-elapsed' });
  view.remaining = el('span', { 'data-testid': 'task-remaining' });

  view.details = el('dl', { class: 'details', 'data-testid': 'task-details' });
  view.errorSection = el('pre', { class: 'error-box', 'data-testid': 'task-error' });
  view.errorCard = card('Error', view.errorSection);
  view.errorCard.hidden = true;
  view.resultSection = el('pre', { class: 'json', 'data-testid': 'task-result' });
  view.payloadSection = el('pre', { class: 'json', 'data-testid': 'task-payload' });
  view.artifactsSection = el('div', { 'data-testid': 'task-artifacts' }, el('p', { class: 'muted' }, 'Loading…'));
  view.logSection = el('div');
  view.timelineSection = el('div');
  view.attemptsSection = el('div', { 'data-testid': 'task-attempts' });

  view.root = el('div', { class: 'task-page', 'data-testid': 'task-page', 'data-task-id': taskId },
    el('p', { class: 'crumbs' }, el('a', { href: '/tasks' }, '← Tasks')),
    el('div', { class: 'page-head' },
      el('h1', {}, `Task #${taskId} `, view.statusSlot),
      el('div', { class: 'actions' }, view.cancelButton, view.retryButton),
    ),
    view.subtitle,
    view.actionError,
    el('section', { class: 'card progress-card', 'aria-label': 'Progress' },
      el('div', { class: 'progress-head' }, view.percent, view.message),
      view.bar,
      el('p', { class: 'muted progress-times' }, view.elapsed, view.remaining),
    ),
    el('div', { class: 'grid-2' },
      card('Details', view.details),
      el('div', {}, view.errorCard, card('Result', view.resultSection)),
    ),
    card('Log', view.logSection),
    card('Artifacts', view.artifactsSection),
    card('Attempts', view.attemptsSection),
    card(`Timeline (${timeZoneName()})`, view.timelineSection),
    card('Payload', view.payloadSection),
  );
  return view;
}

function card(title, ...content) {
  return el('section', { class: 'card' }, el('h2', {}, title), ...content);
}

function renderTaskState(view, task, estimator, nowMs) {
  view.root.dataset.status = task.status;
  view.statusSlot.replaceChildren(statusBadge(task.status, 'task-status'));
  view.cancelButton.hidden = !CANCELABLE.has(task.status);
  view.retryButton.hidden = !RETRYABLE.has(task.status);

  view.subtitle.textContent = [
    `kind ${task.kind}`,
    attemptText(task),
    task.worker_id ? `worker ${task.worker_id}` : 'no worker yet',
  ].join(' · ');

  setProgress(view.bar, task.progress, task.status);
  view.percent.textContent = `${task.progress ?? 0}%`;
  view.message.textContent = task.message || '';

  renderDetails(view.details, task);
  view.errorCard.hidden = !task.error;
  view.errorSection.textContent = task.error || '';
  view.resultSection.textContent = formatJson(task.result);
  // Live events leave the payload out; it comes with the first full read.
  if ('payload' in task) view.payloadSection.textContent = formatJson(task.payload);
  renderTimes(view, task, estimator, nowMs);
}

// "attempt 2 of 3". A manual retry may go past max_attempts, which limits
// only the automatic retries, so then the maximum is left out.
function attemptText(task) {
  if (task.max_attempts > 1 && task.attempt <= task.max_attempts) return `attempt ${task.attempt} of ${task.max_attempts}`;
  return `attempt ${task.attempt}`;
}

function renderDetails(details, task) {
  const retries = [];
  if (task.retry_on_failure) retries.push('on failure');
  if (task.retry_on_loss) retries.push('on loss');
  const rows = [
    ['Kind', task.kind],
    ['Worker', task.worker_id || '—'],
    ['Created', formatDateTime(task.created_at)],
    ['Dispatched', formatDateTime(task.dispatched_at)],
    ['Started', formatDateTime(task.started_at)],
    ['Finished', formatDateTime(task.finished_at)],
    ['Timeout', task.timeout_s ? formatDuration(task.timeout_s * 1000) : 'worker default'],
    ['Retries', retries.length ? `${retries.join(', ')}, backoff ${formatDuration(task.backoff_ms)}` : 'none'],
    ['Idempotency key', task.idempotency_key || '—'],
  ];
  details.replaceChildren(...rows.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

function renderTimes(view, task, estimator, nowMs) {
  const startedMs = parseTime(task.started_at);
  const createdMs = parseTime(task.created_at);
  const finishedMs = parseTime(task.finished_at);
  const terminal = TERMINAL_STATUSES.has(task.status);

  if (startedMs === null) {
    view.elapsed.textContent = createdMs === null || terminal ? 'Not started' : `Waiting ${formatDuration(nowMs - createdMs)}`;
    view.remaining.textContent = '';
    return;
  }

  const endMs = terminal ? finishedMs ?? nowMs : nowMs;
  view.elapsed.textContent = `${terminal ? 'Ran' : 'Elapsed'} ${formatDuration(endMs - startedMs)}`;
  if (task.status !== 'running') {
    view.remaining.textContent = '';
    return;
  }

  const remainingMs = estimator.remainingMs(nowMs);
  view.remaining.textContent = remainingMs === null ? ' · time left unknown' : ` · about ${formatDuration(remainingMs)} left`;
}
