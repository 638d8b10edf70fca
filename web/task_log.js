// Live view of one task's log: the text of GET /api/v1/tasks/{id}/log,
// then the `log` events of the task stream, joined by byte offset.
//
// Offsets count UTF-8 bytes of the current attempt's log. A chunk that ends
// at or before the bytes already shown is a duplicate (a replay, or an event
// that raced the initial read), so it is dropped. A chunk that overlaps them
// contributes only its new bytes.

import { el } from './format.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class TaskLog {
  constructor() {
    this.attempt = null;
    this.byteCount = 0;
    this.pre = el('pre', { class: 'log', 'data-testid': 'task-log', tabindex: 0, 'aria-label': 'Task log' });
    this.emptyText = el('p', { class: 'muted', 'data-testid': 'task-log-empty' }, 'No output yet.');
    this.node = el('div', { class: 'log-wrap' }, this.emptyText, this.pre);
    this.pre.hidden = true;
  }

  // Replaces the log with the full text of `attempt` from GET .../log.
  reset(attempt, text) {
    this.attempt = attempt;
    this.byteCount = 0;
    this.pre.textContent = '';
    this.append(attempt, 0, text || '');
  }

  // Applies one chunk that starts at byte `offset` of `attempt`'s log.
  append(attempt, offset, text) {
    if (this.attempt !== null && attempt < this.attempt) return;
    if (attempt !== this.attempt) {
      this.attempt = attempt;
      this.byteCount = 0;
      this.pre.textContent = '';
    }

    const bytes = encoder.encode(text);
    const endOffset = offset + bytes.length;
    if (bytes.length === 0 || endOffset <= this.byteCount) return;

    let fresh = text;
    if (offset < this.byteCount) {
      fresh = decoder.decode(bytes.subarray(this.byteCount - offset));
    } else if (offset > this.byteCount) {
      // A gap: the missing bytes arrive with the next full read of the log.
      fresh = `[… ${offset - this.byteCount} bytes not received …]\n${text}`;
    }
    this.byteCount = endOffset;
    this.write(fresh);
  }

  // Shows the task's final log tail when no live log was received, e.g. for
  // a task that ended before the live log existed on this server.
  showTailIfEmpty(logTail) {
    if (this.byteCount > 0 || !logTail) return;
    this.write(logTail);
  }

  write(text) {
    const atBottom = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 8;
    this.pre.append(text);
    this.pre.hidden = false;
    this.emptyText.hidden = true;
    if (atBottom) this.pre.scrollTop = this.pre.scrollHeight;
  }
}
