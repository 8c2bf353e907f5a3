/**
 * The page's strings: every language has the same keys, no empty string, the same {placeholders} in each
 * translation, and every key the page's code names literally exists.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { readLocales } from '../../demo/assets.mjs';

type Tree = { [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value === 'string') out.set(`${prefix}${key}`, value);
    else for (const [inner, text] of flatten(value, `${prefix}${key}.`)) out.set(inner, text);
  }
  return out;
}

const locales = readLocales() as Record<string, Tree>;
const english = flatten(locales.en!);
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('demo locales', () => {
  it('has English and German', () => {
    expect(Object.keys(locales).sort()).toEqual(['de', 'en']);
  });

  for (const [language, tree] of Object.entries(locales)) {
    it(`${language}: the same keys as English, no empty strings, the same placeholders`, () => {
      const strings = flatten(tree);
      expect([...strings.keys()].sort()).toEqual([...english.keys()].sort());
      for (const [key, text] of strings) {
        expect(text.trim(), key).not.toBe('');
        expect(placeholders(text), key).toEqual(placeholders(english.get(key) ?? ''));
      }
    });
  }

  it('has every key the page names literally', () => {
    const dir = new URL('../../demo/page/', import.meta.url);
    const missing: string[] = [];
    for (const name of readdirSync(dir).filter((file) => file.endsWith('.ts'))) {
      const source = readFileSync(new URL(name, dir), 'utf8');
      for (const match of source.matchAll(/\bt\(\s*'([\w.-]+)'/g)) {
        if (!english.has(match[1]!)) missing.push(`${name}: ${match[1]}`);
      }
    }
    const html = readFileSync(new URL('../../demo/static/index.html', import.meta.url), 'utf8');
    for (const match of html.matchAll(/data-i18n="([\w.-]+)"/g)) if (!english.has(match[1]!)) missing.push(`index.html: ${match[1]}`);
    expect(missing).toEqual([]);
  });
});

describe('i18n', () => {
  it('a quick second language change wins even when the first one loads last', async () => {
    const hadDocument = 'document' in globalThis;
    if (!hadDocument) (globalThis as { document?: unknown }).document = { documentElement: {}, baseURI: 'http://page.invalid/' };
    const answers = new Map<string, (value: Response) => void>();
    vi.stubGlobal('fetch', (url: URL) => new Promise<Response>((resolve) => answers.set(String(url).split('/').at(-1)!, resolve)));
    try {
      const { language, setLanguage, t } = await import('../../demo/page/i18n.js');
      const toGerman = setLanguage('de');
      const toEnglish = setLanguage('en');
      answers.get('en.json')!(Response.json(locales.en));
      await toEnglish;
      answers.get('de.json')!(Response.json(locales.de));
      await toGerman;
      expect(language()).toBe('en');
      expect(t('app.languages.de')).toBe(english.get('app.languages.de'));
    } finally {
      vi.unstubAllGlobals();
      if (!hadDocument) delete (globalThis as { document?: unknown }).document;
    }
  });

  it('fills a placeholder only from the parameters given, never from what every object has', async () => {
    const hadDocument = 'document' in globalThis;
    if (!hadDocument) (globalThis as { document?: unknown }).document = { documentElement: {} };
    try {
      const { t, useStrings } = await import('../../demo/page/i18n.js');
      useStrings('en', { x: { y: 'a {constructor} b {toString}' } });
      expect(t('x.y', { toString: 'c' })).toBe('a {constructor} b c');
    } finally {
      if (!hadDocument) delete (globalThis as { document?: unknown }).document;
    }
  });
});
