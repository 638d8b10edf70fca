// Entry point of the dashboard: checks the session, routes on
// location.pathname and renders one page at a time into <main>.
//
// Every page has its own URL and keeps its state (filters, page cursor) in
// the query string, so reloading or sharing a URL shows the same view.

import * as api from './api.js';
import { onConnectionChange } from './live.js';
import { el } from './format.js';
import { renderSignIn } from './page_signin.js';
import { renderTaskList } from './page_tasks.js';
import { renderTask } from './page_task.js';
import { renderNewTask } from './page_new.js';
import { renderWorkers } from './page_workers.js';

const main = document.getElementById('main');
const banner = document.getElementById('stream-banner');
const signOutButton = document.getElementById('sign-out');

let cleanupPage = () => {};
let tickListeners = [];
let tickTimer = null;
let signedIn = false;

const routes = [
  { pattern: /^\/(tasks\/?)?$/, nav: 'tasks', render: renderTaskList },
  { pattern: /^\/tasks\/(\d+)\/?$/, nav: 'tasks', render: renderTask },
  { pattern: /^\/new\/?$/, nav: 'new', render: renderNewTask },
  { pattern: /^\/workers\/?$/, nav: 'workers', render: renderWorkers },
];

// Changes the URL without a page load and renders the page for it.
// `replace` changes the current history entry instead of adding one.
export function navigate(path, { replace = false, state = null } = {}) {
  if (replace) {
    history.replaceState(state, '', path);
  } else {
    history.pushState(state, '', path);
  }
  route();
}

function showSignIn() {
  signedIn = false;
  const here = location.pathname + location.search;
  const next = location.pathname === '/signin' ? new URLSearchParams(location.search).get('next') : here;
  const target = next && next !== '/' ? `/signin?next=${encodeURIComponent(next)}` : '/signin';
  history.replaceState(null, '', target);
  route();
}

async function route() {
  cleanupPage();
  cleanupPage = () => {};
  tickListeners = [];
  banner.hidden = true;
  main.replaceChildren();

  if (location.pathname === '/signin') {
    setChrome(null);
    cleanupPage = renderSignIn(main, { navigate, onSignedIn }) || (() => {});
    return;
  }
  if (!signedIn) {
    showSignIn();
    return;
  }

  for (const candidate of routes) {
    const match = candidate.pattern.exec(location.pathname);
    if (!match) continue;

    setChrome(candidate.nav);
    const context = {
      params: match.slice(1),
      query: new URLSearchParams(location.search),
      navigate,
      // Renders the page again from the REST routes, e.g. after a stream
      // `reset` event, which the server sends to a client too far behind for
      // a replay.
      reload: () => route(),
      onTick: (listener) => tickListeners.push(listener),
    };
    cleanupPage = candidate.render(main, context) || (() => {});
    main.focus({ preventScroll: true });
    return;
  }

  setChrome(null);
  main.append(
    el('h1', {}, 'Page not found'),
    el('p', {}, 'There is no page at ', el('code', {}, location.pathname), '. ',
      el('a', { href: '/tasks' }, 'Go to the task list'), '.'),
  );
}

function setChrome(activeNav) {
  signOutButton.hidden = !signedIn;
  document.querySelector('.nav').hidden = !signedIn;
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === activeNav) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }
}

function onSignedIn(next) {
  signedIn = true;
  const safeNext = next && next.startsWith('/') && !next.startsWith('//') ? next : '/tasks';
  navigate(safeNext, { replace: true });
}

// Follows same-origin links to dashboard pages without a page load.
function handleLinkClick(event) {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;

  const link = event.target.closest('a[href]');
  if (!link || link.target || link.hasAttribute('download')) return;

  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/static/')) return;

  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) {
    navigate(url.pathname + url.search);
  }
}

async function handleSignOut() {
  signOutButton.disabled = true;
  try {
    await api.signOut();
  } catch (error) {
    console.warn('taskrelay: sign-out request failed', error);
  } finally {
    signOutButton.disabled = false;
  }
  signedIn = false;
  navigate('/signin', { replace: true });
}

// Re-renders relative times ("12 s ago") once a second. This timer makes no
// requests: live data arrives through the event streams.
function startTicker() {
  tickTimer = setInterval(() => {
    const now = Date.now();
    for (const listener of tickListeners) listener(now);
  }, 1000);
}

async function start() {
  document.addEventListener('click', handleLinkClick);
  window.addEventListener('popstate', route);
  signOutButton.addEventListener('click', handleSignOut);
  onConnectionChange((connected) => { banner.hidden = connected; });
  api.onUnauthorized(() => {
    if (location.pathname !== '/signin') showSignIn();
  });
  startTicker();

  try {
    signedIn = await api.checkSession();
  } catch (error) {
    main.replaceChildren(
      el('h1', {}, 'Server unavailable'),
      el('p', { class: 'error', role: 'alert' }, error.message, ' Reload the page to try again.'),
    );
    return;
  }

  if (signedIn && location.pathname === '/signin') {
    onSignedIn(new URLSearchParams(location.search).get('next'));
    return;
  }
  route();
}

start();
