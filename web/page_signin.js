// Sign-in page (/signin?next=PATH): exchanges the API token for a session
// cookie. The token is sent once and not stored by the page.

import * as api from './api.js';
import { el } from './format.js';

export function renderSignIn(main, { onSignedIn }) {
  const next = new URLSearchParams(location.search).get('next');
  const tokenInput = el('input', {
    id: 'signin-token', name: 'token', type: 'password', required: true,
    autocomplete: 'current-password', 'data-testid': 'signin-token',
  });
  const errorText = el('p', { class: 'error', role: 'alert', 'data-testid': 'signin-error', hidden: true });
  const submitButton = el('button', { type: 'submit', class: 'button primary', 'data-testid': 'signin-submit' }, 'Sign in');

  const form = el('form', { class: 'card signin', 'aria-labelledby': 'signin-title' },
    el('h1', { id: 'signin-title' }, 'Sign in to taskrelay'),
    el('p', { class: 'muted' }, 'Enter the API token the server was started with (TASKRELAY_API_TOKEN).'),
    el('label', { for: 'signin-token' }, 'API token'),
    tokenInput,
    errorText,
    submitButton,
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errorText.hidden = true;
    submitButton.disabled = true;
    try {
      await api.signIn(tokenInput.value.trim());
      onSignedIn(next);
    } catch (error) {
      errorText.textContent = error.status === 401
        ? 'The token is not valid for this server. Check TASKRELAY_API_TOKEN and try again.'
        : error.message;
      errorText.hidden = false;
      tokenInput.focus();
    } finally {
      submitButton.disabled = false;
    }
  });

  main.append(form);
  tokenInput.focus();
}
