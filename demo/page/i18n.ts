/**
 * The page's strings, from locales/<lang>.json (built from demo/locales/<lang>/*.json: one file per part of
 * the page, its name the first part of every key, e.g. `lesson.steps.greeting.title`). Nothing visible is
 * written in the code: a missing key shows as the key itself, so it is noticed, and a test checks that every
 * language has the same keys.
 */

export const LANGUAGES = ['en', 'de'] as const;
export type Language = (typeof LANGUAGES)[number];

type Strings = { readonly [key: string]: string | Strings };

let strings: Strings = {};
let current: Language = 'en';
const listeners = new Set<() => void>();
/** Counts language changes: a load that finishes after a later change is thrown away. */
let generation = 0;

/**
 * Load a language's strings and tell every listener (the views re-render their text). When the language is
 * changed again before the strings arrive, the later choice wins whichever load finishes last.
 */
export async function setLanguage(language: Language, base: URL = new URL('locales/', document.baseURI)): Promise<void> {
  const mine = ++generation;
  const response = await fetch(new URL(`${language}.json`, base));
  if (!response.ok) throw new Error(`locales/${language}.json: HTTP ${response.status}`);
  const loaded = (await response.json()) as Strings;
  if (mine === generation) apply(language, loaded);
}

/** Use strings already loaded (tests). */
export function useStrings(language: Language, loaded: Strings): void {
  generation++;
  apply(language, loaded);
}

function apply(language: Language, loaded: Strings): void {
  strings = loaded;
  current = language;
  document.documentElement.lang = language;
  for (const listener of listeners) listener();
}

/** The language the page shows now. */
export function language(): Language {
  return current;
}

/** The language the browser prefers among ours, or English. */
export function preferredLanguage(): Language {
  for (const wanted of navigator.languages ?? [navigator.language]) {
    const base = wanted.slice(0, 2).toLowerCase();
    if ((LANGUAGES as readonly string[]).includes(base)) return base as Language;
  }
  return 'en';
}

/** Call `listener` after every language change; returns the unsubscribe function. */
export function onLanguageChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The string at `key` with `{name}` placeholders filled from `params`; the key itself when missing. */
export function t(key: string, params: Readonly<Record<string, string | number>> = {}): string {
  const found = lookup(key);
  if (typeof found !== 'string') return key;
  return found.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}

/** Whether `key` names a string (for optional explanations). */
export function has(key: string): boolean {
  return typeof lookup(key) === 'string';
}

function lookup(key: string): string | Strings | undefined {
  let node: string | Strings | undefined = strings;
  for (const part of key.split('.')) {
    if (node === undefined || typeof node === 'string') return undefined;
    node = Object.hasOwn(node, part) ? node[part] : undefined;
  }
  return node;
}

/**
 * Fill every element under `root` that has `data-i18n="key"` (its text) or `data-i18n-attr="attr:key,..."`
 * (attributes such as aria-label or placeholder) with the current language's strings.
 */
export function translate(root: ParentNode): void {
  for (const element of root.querySelectorAll<HTMLElement>('[data-i18n]')) element.textContent = t(element.dataset.i18n!);
  for (const element of root.querySelectorAll<HTMLElement>('[data-i18n-attr]')) {
    for (const pair of element.dataset.i18nAttr!.split(',')) {
      const [attribute, key] = pair.split(':');
      if (attribute !== undefined && key !== undefined) element.setAttribute(attribute.trim(), t(key.trim()));
    }
  }
}
