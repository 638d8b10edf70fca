// Calls to the taskrelay HTTP API (docs/api.md) with the dashboard's cookie
// session. The session cookie is HttpOnly, so the only session state this
// code stores is the CSRF token that POST and DELETE requests must carry.

let csrfToken = null;
let unauthorizedHandler = () => {};

// An error response of the API: `status` is the HTTP status, `code` the
// error code of the body (or "network" when no response arrived).
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Sets the function called with no arguments when a request gets 401, so the
// application can show the sign-in page.
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

// Calls the handler set by onUnauthorized, for callers that find the
// session gone by other means (an event stream that cannot reconnect).
export function reportUnauthorized() {
  csrfToken = null;
  unauthorizedHandler();
}

// Sends a request and returns the parsed JSON body, or the text for a
// text/plain response. Throws ApiError for an error status or a network
// failure. `body` is sent as JSON when it is not undefined.
export async function request(method, path, body) {
  try {
    return await send(method, path, body);
  } catch (error) {
    // The CSRF token can be stale, e.g. after a sign-in in another tab
    // replaced the session. The server rejected the request before acting
    // on it, so fetch the current token and send it once more.
    if (error.status !== 403 || error.code !== 'csrf' || !(await checkSession())) throw error;
    return send(method, path, body);
  }
}

async function send(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, 'network', `The server could not be reached (${error.message}).`);
  }

  if (response.status === 401 && path !== '/api/v1/session') reportUnauthorized();
  if (!response.ok) throw await errorFromResponse(response);
  if (response.status === 204) return null;

  const type = response.headers.get('Content-Type') || '';
  if (type.includes('application/json')) return response.json();
  return response.text();
}

async function errorFromResponse(response) {
  let code = 'http_error';
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // The body was not the API's JSON error shape; keep the status line.
  }
  return new ApiError(response.status, code, message);
}

export const get = (path) => request('GET', path);
export const post = (path, body = {}) => request('POST', path, body);

// Returns whether the browser has a valid session, and keeps its CSRF token.
export async function checkSession() {
  try {
    const body = await request('GET', '/api/v1/session');
    csrfToken = body.csrf_token;
    return true;
  } catch (error) {
    if (error.status === 401) return false;
    throw error;
  }
}

// Exchanges the API token for a session cookie. Throws ApiError when the
// token is wrong.
export async function signIn(token) {
  const body = await request('POST', '/api/v1/session', { token });
  csrfToken = body.csrf_token;
}

export async function signOut() {
  try {
    await request('DELETE', '/api/v1/session');
  } finally {
    csrfToken = null;
  }
}
