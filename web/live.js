import { checkSession, reportUnauthorized } from './api.js';

// A Server-Sent Events connection that survives server restarts.
//
// While the connection is only interrupted, the browser's EventSource
// reconnects by itself and resends Last-Event-ID. When EventSource gives up
// (readyState CLOSED, e.g. after an error status or a refused connection), a
// new EventSource is opened after a back-off, and the last seen event id is
// passed as the `last_event_id` query parameter, which the server reads like
// the header. No requests are made on a timer while the stream is open.

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15000;

const openStreams = new Set();
let connectionListener = () => {};

// Sets the function called with `true` when every open stream is connected
// and `false` when at least one is not, so the application can show a banner.
export function onConnectionChange(listener) {
  connectionListener = listener;
}

function reportConnection() {
  const connected = [...openStreams].every((stream) => stream.connected);
  connectionListener(connected);
}

export class LiveStream {
  // `handlers` maps event names ("task", "worker", "log", "reset") to
  // functions that take the parsed JSON data and the event id (a string, or
  // "" for none).
  // `onReconnect`, if given, is called after a reconnect that followed a
  // gap, so a page can reload what the replay does not cover (logs).
  constructor(path, handlers, { onReconnect } = {}) {
    this.path = path;
    this.handlers = handlers;
    this.onReconnect = onReconnect;
    this.lastEventId = null;
    this.connected = false;
    this.wasDisconnected = false;
    this.retryDelayMs = RETRY_MIN_MS;
    this.retryTimer = null;
    this.source = null;
    this.closed = false;
    openStreams.add(this);
    this.open();
  }

  open() {
    let url = this.path;
    if (this.lastEventId !== null) {
      url += `${url.includes('?') ? '&' : '?'}last_event_id=${encodeURIComponent(this.lastEventId)}`;
    }

    const source = new EventSource(url, { withCredentials: true });
    this.source = source;
    source.addEventListener('open', () => this.handleOpen());
    source.addEventListener('error', () => this.handleError(source));
    for (const [name, handler] of Object.entries(this.handlers)) {
      source.addEventListener(name, (event) => this.dispatch(handler, event));
    }
  }

  dispatch(handler, event) {
    if (event.lastEventId) this.lastEventId = event.lastEventId;

    let data;
    try {
      data = JSON.parse(event.data);
    } catch (error) {
      console.warn(`taskrelay: ignored a ${event.type} event whose data is not JSON`, error);
      return;
    }
    handler(data, event.lastEventId);
  }

  handleOpen() {
    this.connected = true;
    this.retryDelayMs = RETRY_MIN_MS;
    reportConnection();
    if (this.wasDisconnected && this.onReconnect) this.onReconnect();
    this.wasDisconnected = false;
  }

  handleError(source) {
    if (this.closed || source !== this.source) return;

    this.connected = false;
    this.wasDisconnected = true;
    reportConnection();

    // CONNECTING means EventSource is retrying by itself with Last-Event-ID.
    if (source.readyState !== EventSource.CLOSED) return;

    source.close();
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.reopen(), this.retryDelayMs);
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
  }

  // EventSource does not expose the status of a failed response, so check
  // that the session is still valid before opening again. While the server
  // is down the check fails too, and the retries go on.
  async reopen() {
    let sessionValid = true;
    try {
      sessionValid = await checkSession();
    } catch {
      sessionValid = true;
    }
    if (this.closed) return;
    if (!sessionValid) {
      reportUnauthorized();
      return;
    }
    this.open();
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    if (this.source) this.source.close();
    openStreams.delete(this);
    reportConnection();
  }
}
