// DOM building and the formatting of times, durations and sizes.
// Times from the API are UTC ISO 8601 strings, and every time shown is in
// the viewer's time zone.

// Creates an element. Attributes whose name starts with "on" become event
// listeners, `null`, `undefined` and `false` values are skipped, and children
// may be nodes, strings, numbers or (nested) arrays of them.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);

  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === 'class') {
      node.className = value;
    } else if (name === 'text') {
      node.textContent = value;
    } else {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }

  appendChildren(node, children);
  return node;
}

function appendChildren(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) {
      appendChildren(node, child);
    } else if (child instanceof Node) {
      node.appendChild(child);
    } else {
      node.appendChild(document.createTextNode(String(child)));
    }
  }
}

// Returns milliseconds since the epoch, or null for a missing or invalid time.
export function parseTime(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const clockFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3,
});

// Formats an API time as a date and time in the viewer's time zone.
export function formatDateTime(iso) {
  const ms = parseTime(iso);
  return ms === null ? '—' : dateTimeFormat.format(ms);
}

// Formats an API time as a time of day with milliseconds, for timelines.
export function formatClock(iso) {
  const ms = parseTime(iso);
  return ms === null ? '—' : clockFormat.format(ms);
}

// The viewer's time zone name, shown next to absolute times.
export function timeZoneName() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
}

// Formats a duration in milliseconds as "850 ms", "12 s", "4 min 05 s" or
// "3 h 02 min".
export function formatDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;

  const totalSeconds = Math.floor(ms / 1000);
  if (totalSeconds < 60) return `${totalSeconds} s`;

  const totalMinutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  if (totalMinutes < 60) return `${totalMinutes} min ${String(seconds).padStart(2, '0')} s`;

  const hours = Math.floor(totalMinutes / 60);
  const minutes = totalMinutes % 60;
  if (hours < 48) return `${hours} h ${String(minutes).padStart(2, '0')} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

// Formats the time since an API time as "12 s ago", or "just now" under a
// second.
export function formatAge(iso, nowMs = Date.now()) {
  const ms = parseTime(iso);
  if (ms === null) return '—';
  const ageMs = nowMs - ms;
  return ageMs < 1000 ? 'just now' : `${formatDuration(ageMs)} ago`;
}

// Formats a byte count as "512 B", "3.4 KiB" or "1.2 MiB".
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

// Formats a JSON value for display, with a dash for `null` and `undefined`.
export function formatJson(value) {
  if (value === null || value === undefined) return '—';
  return JSON.stringify(value, null, 2);
}

// The task statuses in the order a task moves through them.
export const TASK_STATUSES = ['pending', 'dispatched', 'running', 'completed', 'failed', 'canceled'];
export const TERMINAL_STATUSES = new Set(['completed', 'failed', 'canceled']);

// Creates a coloured badge for a task or worker status.
export function statusBadge(status, testId) {
  return el('span', { class: `badge status-${status}`, 'data-testid': testId }, status);
}

// Creates a progress bar with an accessible value. setProgress updates it.
export function progressBar(percent, label, testId) {
  const fill = el('span', { class: 'progress-fill' });
  const bar = el('span', {
    class: 'progress',
    role: 'progressbar',
    'aria-valuemin': 0,
    'aria-valuemax': 100,
    'aria-label': label,
    'data-testid': testId,
  }, fill);
  setProgress(bar, percent);
  return bar;
}

export function setProgress(bar, percent, status) {
  const value = Math.max(0, Math.min(100, Number(percent) || 0));
  bar.setAttribute('aria-valuenow', String(value));
  bar.dataset.value = String(value);
  bar.firstChild.style.width = `${value}%`;
  if (status) bar.dataset.status = status;
}
