/**
 * Widgets of the learn views (built with dom.ts: createElement and textContent, never innerHTML): buttons,
 * rebuilding a list only when it changed, and the list of wire lines a connection of the panel's own shows.
 * Plus the shared context of the learn views: what is driving the App's session right now, so that an
 * experiment's commands do not count as the learner's.
 */
import { h } from './dom.js';
import { t } from './i18n.js';
import type { PanelLine } from './lesson-place.js';

/**
 * Rebuild an element's children only when `signature` (everything they are made from) changed since the
 * last time: live regions announce every change, so rebuilding the same content would make a screen reader
 * repeat it (see `setText` in dom.ts).
 */
export function rebuildIf(element: HTMLElement, signature: string, build: () => readonly (Node | string)[]): void {
  if (element.dataset.signature === signature) return;
  element.dataset.signature = signature;
  element.replaceChildren(...build());
}

/** A real button (type=button), secondary-styled when asked. */
export function button(className: string, secondary = false): HTMLButtonElement {
  const element = h('button', { class: secondary ? `secondary ${className}` : className });
  element.type = 'button';
  return element;
}

/** The lines of a connection that is not the App's, as `C:` / `S:` lines. */
export function wireList(lines: readonly PanelLine[]): HTMLOListElement {
  const list = h('ol', { class: 'learn-wire', 'aria-label': t('learn.wire.label') });
  for (const line of lines) {
    list.append(
      h(
        'li',
        { class: `learn-wire-line learn-wire-${line.from}` },
        h('span', { class: 'learn-wire-who' }, t(`learn.wire.${line.from}`)),
        ' ',
        h('code', {}, line.text),
      ),
    );
  }
  return list;
}

/** What drives the App's session besides the learner: an experiment, or a level's model solution. */
export type LearnActivity = 'learner' | 'experiment' | 'solution';

/** Shared by the learn views: what drives the App's session now, with listeners to its changes. */
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
