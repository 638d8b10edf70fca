// Start-a-task page (/new?kind=K): a kind offered by online workers, a JSON
// payload checked while it is typed, an optional idempotency key and the
// retry settings. After Start the browser goes to the new task's page.

import * as api from './api.js';
import { el } from './format.js';

const KIND_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export function renderNewTask(main, { query, navigate }) {
  const kindSelect = el('select', { id: 'new-kind', name: 'kind', required: true, 'data-testid': 'new-kind' },
    el('option', { value: '' }, 'Loading kinds…'));
  const kindHint = el('p', { class: 'hint', id: 'new-kind-hint', 'data-testid': 'new-kind-hint' });
  const payloadInput = el('textarea', {
    id: 'new-payload', name: 'payload', rows: 8, spellcheck: 'false', class: 'mono',
    'aria-describedby': 'new-payload-status', 'data-testid': 'new-payload',
  });
  payloadInput.value = query.get('payload') || '{}';
  const payloadStatus = el('p', { id: 'new-payload-status', class: 'hint', 'aria-live': 'polite', 'data-testid': 'new-payload-status' });
  const keyInput = el('input', { id: 'new-key', name: 'idempotency_key', type: 'text', maxlength: 200, autocomplete: 'off', 'data-testid': 'new-key' });
  const attemptsInput = el('input', { id: 'new-max-attempts', name: 'max_attempts', type: 'number', min: 1, max: 100, value: 1, 'data-testid': 'new-max-attempts' });
  const timeoutInput = el('input', { id: 'new-timeout', name: 'timeout_s', type: 'number', min: 0, max: 604800, value: 0, 'data-testid': 'new-timeout' });
  const retryFailureInput = el('input', { id: 'new-retry-failure', type: 'checkbox', 'data-testid': 'new-retry-failure' });
  const retryLossInput = el('input', { id: 'new-retry-loss', type: 'checkbox', 'data-testid': 'new-retry-loss' });
  const submitError = el('p', { class: 'error', role: 'alert', 'data-testid': 'new-error', hidden: true });
  const submitButton = el('button', { type: 'submit', class: 'button primary', 'data-testid': 'new-submit' }, 'Start');

  const form = el('form', { class: 'card form', 'aria-labelledby': 'new-title', novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'new-kind' }, 'Kind'), kindSelect, kindHint),
    el('div', { class: 'field' },
      el('label', { for: 'new-payload' }, 'Payload (JSON)'),
      payloadInput,
      payloadStatus,
    ),
    el('div', { class: 'field' },
      el('label', { for: 'new-key' }, 'Idempotency key (optional)'),
      keyInput,
      el('p', { class: 'hint' }, 'Starting again with the same key returns the existing task instead of a new one.'),
    ),
    el('details', { class: 'advanced' },
      el('summary', {}, 'Attempts and timeout'),
      el('div', { class: 'field-row' },
        el('div', { class: 'field' }, el('label', { for: 'new-max-attempts' }, 'Max attempts'), attemptsInput),
        el('div', { class: 'field' }, el('label', { for: 'new-timeout' }, 'Timeout in seconds (0 = worker default)'), timeoutInput),
      ),
      el('div', { class: 'checks' },
        el('label', { class: 'check' }, retryFailureInput, ' Retry when it fails'),
        el('label', { class: 'check' }, retryLossInput, ' Retry when its worker is lost'),
      ),
    ),
    submitError,
    el('div', { class: 'actions' }, submitButton),
  );

  main.append(el('h1', { id: 'new-title' }, 'Start a task'), form);

  function checkPayload() {
    const result = parsePayload(payloadInput.value);
    payloadStatus.textContent = result.error || 'Valid JSON.';
    payloadStatus.className = result.error ? 'hint invalid' : 'hint valid';
    payloadInput.setAttribute('aria-invalid', result.error ? 'true' : 'false');
    return result;
  }
  payloadInput.addEventListener('input', checkPayload);
  checkPayload();

  loadKinds(kindSelect, kindHint, query.get('kind'));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submitError.hidden = true;

    const { body, error } = buildRequest();
    if (error) {
      submitError.textContent = error;
      submitError.hidden = false;
      return;
    }

    submitButton.disabled = true;
    try {
      const task = await api.post('/api/v1/tasks', body);
      navigate(`/tasks/${task.id}`);
    } catch (failure) {
      submitError.textContent = `The task was not started: ${failure.message}`;
      submitError.hidden = false;
      submitButton.disabled = false;
    }
  });

  // Returns {body} for POST /api/v1/tasks, or {error} naming the field to fix.
  function buildRequest() {
    const kind = kindSelect.value;
    if (!KIND_PATTERN.test(kind)) return { error: 'Choose a kind. If the list is empty, start a worker that runs the kind.' };

    const payload = checkPayload();
    if (payload.error) return { error: `The payload is not valid JSON: ${payload.error}` };

    const maxAttempts = Number(attemptsInput.value);
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
      return { error: `Max attempts ${attemptsInput.value} is invalid: enter a whole number from 1 to 100.` };
    }
    const timeoutS = Number(timeoutInput.value || 0);
    if (!Number.isInteger(timeoutS) || timeoutS < 0 || timeoutS > 604800) {
      return { error: `Timeout ${timeoutInput.value} is invalid: enter whole seconds from 0 to 604800.` };
    }

    const body = {
      kind,
      payload: payload.value,
      max_attempts: maxAttempts,
      retry_on_failure: retryFailureInput.checked,
      retry_on_loss: retryLossInput.checked,
    };
    if (timeoutS > 0) body.timeout_s = timeoutS;
    const key = keyInput.value.trim();
    if (key) body.idempotency_key = key;
    return { body };
  }
}

// Parses the payload text. An empty text is the empty object, the API's
// default. Returns {value} or {error} with the position of the mistake.
function parsePayload(text) {
  if (text.trim() === '') return { value: {} };
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: describeJsonError(text, error) };
  }
}

function describeJsonError(text, error) {
  const match = /position (\d+)/.exec(error.message);
  if (!match) return error.message;

  const position = Number(match[1]);
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  const reason = error.message.replace(/ in JSON at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)$/, '');
  return `${reason} at line ${line}, column ${column}.`;
}

async function loadKinds(select, hint, preferred) {
  let kinds;
  try {
    kinds = (await api.get('/api/v1/kinds')).kinds || [];
  } catch (error) {
    select.replaceChildren(el('option', { value: '' }, 'Kinds unavailable'));
    hint.textContent = `The kinds could not be loaded: ${error.message}`;
    hint.className = 'hint invalid';
    return;
  }

  if (kinds.length === 0) {
    select.replaceChildren(el('option', { value: '' }, 'No kinds available'));
    hint.textContent = 'No online worker advertises a kind. Start a worker with --kind NAME=PROGRAM.';
    return;
  }

  const sorted = [...kinds].sort((a, b) => a.name.localeCompare(b.name));
  select.replaceChildren(...sorted.map((kind) => el('option', {
    value: kind.name,
    selected: kind.name === preferred,
  }, `${kind.name} (${kind.workers_online} worker${kind.workers_online === 1 ? '' : 's'} online)`)));
  hint.textContent = 'Kinds that online workers advertise.';
}
