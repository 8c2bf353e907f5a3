/** The strings of the transcript and explain views: the same keys in English and German, none empty. */
import { describe, expect, it } from 'vitest';
import { readLocales } from '../../demo/assets.mjs';

const PARTS = ['transcript', 'explain', 'codes', 'errors', 'session'] as const;
const locales = readLocales() as Record<string, Record<string, unknown>>;

/** Every key path to a string, with the string's placeholders. */
function flatten(node: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof node === 'string') out.set(prefix, node);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) for (const [path, text] of flatten(value, prefix === '' ? key : `${prefix}.${key}`)) out.set(path, text);
  } else out.set(prefix, `<not a string: ${String(node)}>`);
  return out;
}
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

describe.each(PARTS)('locales/%s.json', (part) => {
  const en = flatten(locales.en?.[part], part);
  const de = flatten(locales.de?.[part], part);

  it('exists in both languages', () => {
    expect(en.size).toBeGreaterThan(0);
    expect(de.size).toBeGreaterThan(0);
  });

  it('has the same keys in English and German', () => {
    expect([...de.keys()].sort()).toEqual([...en.keys()].sort());
  });

  it('has only non-empty strings, with the same placeholders in both languages', () => {
    for (const [key, text] of en) {
      expect(text.trim(), key).not.toBe('');
      expect(text, key).not.toMatch(/^<not a string/);
      expect(de.get(key)?.trim(), key).not.toBe('');
      expect(placeholders(de.get(key) ?? ''), key).toEqual(placeholders(text));
    }
  });
});
