/**
 * The DOM helpers every view uses. Elements are built with createElement and filled with textContent only:
 * data never becomes markup.
 */

type Attributes = Readonly<Record<string, string | number | boolean | undefined>>;
type Child = Node | string | undefined | false;

/**
 * An element with attributes and children. `class` sets the class name; a boolean attribute is set when true
 * and left out when false; undefined values are left out. Strings become text nodes.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

/** Append children (strings as text). */
export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

let counter = 0;

/** A document-unique id with a readable prefix (for label `for`, aria-describedby). */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/**
 * Set `text` as the only content of `element`, and nothing when it did not change: live regions announce
 * every change, so writing the same text again would make a screen reader repeat it.
 */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

/**
 * Make a button usable or not without `disabled`: a disabled button drops the keyboard focus (to the page's
 * body) when it has it, e.g. the button just pressed while its command runs. It stays focusable and says it
 * is unusable with aria-disabled (styled in app.css); its click handler must check `usable()` first.
 */
export function setUsable(element: HTMLButtonElement, usable: boolean): void {
  element.disabled = false;
  element.setAttribute('aria-disabled', String(!usable));
}

/** Whether a button set with `setUsable` may act on a click. */
export function usable(element: HTMLButtonElement): boolean {
  return element.getAttribute('aria-disabled') !== 'true';
}
