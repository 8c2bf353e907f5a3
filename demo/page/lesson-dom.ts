/**
 * Small DOM helpers for the learn views: elements built with createElement and textContent (never
 * innerHTML), and the list of wire lines a connection of the panel's own shows. Plus the shared context of
 * the learn views: what is driving the App's session right now, so that an experiment's commands do not
 * count as the learner's.
 */
import { t } from './i18n.js';
import type { PanelLine } from './lesson-place.js';

type Child = Node | string | undefined | false;

/** An element with a class, attributes and children (strings become text nodes). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: { className?: string; attrs?: Readonly<Record<string, string>>; text?: string } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (options.className !== undefined) element.className = options.className;
  for (const [name, value] of Object.entries(options.attrs ?? {})) element.setAttribute(name, value);
  if (options.text !== undefined) element.textContent = options.text;
  for (const child of children) if (child !== undefined && child !== false) element.append(child);
  return element;
}

/**
 * Set an element's text only when it changes: live regions announce every change, so writing the same text
 * again would make a screen reader repeat it.
 */
export function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

/**
 * Rebuild an element's children only when `signature` (everything they are made from) changed since the
 * last time, for the same reason.
 */
export function rebuildIf(element: HTMLElement, signature: string, build: () => readonly (Node | string)[]): void {
  if (element.dataset.signature === signature) return;
  element.dataset.signature = signature;
  element.replaceChildren(...build());
}

/** A real button (type=button), secondary-styled when asked. */
export function button(className: string, secondary = false): HTMLButtonElement {
  const element = el('button', { className: secondary ? `secondary ${className}` : className });
  element.type = 'button';
  return element;
}

/** The lines of a connection that is not the App's, as `C:` / `S:` lines. */
export function wireList(lines: readonly PanelLine[]): HTMLOListElement {
  const list = el('ol', { className: 'learn-wire', attrs: { 'aria-label': t('learn.wire.label') } });
  for (const line of lines) {
    list.append(
      el(
        'li',
        { className: `learn-wire-line learn-wire-${line.from}` },
        el('span', { className: 'learn-wire-who', text: t(`learn.wire.${line.from}`) }),
        ' ',
        el('code', { text: line.text }),
      ),
    );
  }
  return list;
}

/** What drives the App's session besides the learner: an experiment, or a level's model solution. */
export type LearnActivity = 'learner' | 'experiment' | 'solution';

export class LearnContext {
  #activity: LearnActivity = 'learner';
  readonly #listeners = new Set<(activity: LearnActivity) => void>();

  get activity(): LearnActivity {
    return this.#activity;
  }

  set activity(activity: LearnActivity) {
    if (activity === this.#activity) return;
    this.#activity = activity;
    for (const listener of this.#listeners) listener(activity);
  }

  onChange(listener: (activity: LearnActivity) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
