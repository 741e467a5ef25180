/**
 * The API token of a service that requires one. A link may carry it once as `?token=`: it is moved into this
 * tab's sessionStorage and taken out of the address bar (and so out of history and bookmarks) at once.
 */
const KEY = 'claude-comms.token';

/** The token while sessionStorage is unavailable (it then lasts until the page is reloaded). */
let kept: string | undefined;

/** Moves `?token=` from the page's URL into sessionStorage. */
export function takeTokenFromUrl(): void {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (token === null) return;
  if (token) setToken(token);
  url.searchParams.delete('token');
  window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`);
}

/** The token to send, if any. */
export function getToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) || kept;
  } catch {
    return kept;
  }
}

export function setToken(token: string): void {
  kept = token.trim() || undefined;
  try {
    if (kept) sessionStorage.setItem(KEY, kept);
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage disabled: `kept` serves.
  }
}
