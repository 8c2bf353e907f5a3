/**
 * The status line under the header: an ARIA live region that says what just happened (connected, a
 * connection refused, a mailbox reset). Errors stay until the next message; screen readers hear each one.
 */
let region: HTMLElement | undefined;

/** Make `element` (an ARIA live region in the page's markup) the status line. */
export function mountStatus(element: HTMLElement): void {
  region = element;
}

/** Show (and have screen readers announce) a message; `error` ones are styled as such. */
export function announce(message: string, kind: 'info' | 'error' = 'info'): void {
  if (region === undefined) return;
  region.dataset.kind = kind;
  region.textContent = message;
}
