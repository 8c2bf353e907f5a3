/**
 * The strings of the controls views (demo/locales/{en,de}/{connect,state,palette,capabilities}.json): both
 * languages have the same keys with the same placeholders, and every key the views and their logic name
 * exists.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CAPABILITY_KEYS } from '../../demo/page/capabilities-model.js';
import { PALETTE } from '../../demo/page/palette-commands.js';
import { DIAGRAM_EDGES, DIAGRAM_NODES, SUMMARY_KEYS } from '../../demo/page/state-model.js';

const PARTS = ['connect', 'state', 'palette', 'capabilities'] as const;
const LANGUAGES = ['en', 'de'] as const;
const SOURCES = [
  'connect-panel.ts',
  'state-diagram.ts',
  'state-model.ts',
  'palette.ts',
  'palette-commands.ts',
  'capabilities-view.ts',
  'capabilities-model.ts',
];

type Tree = { [key: string]: string | Tree };

function flatten(tree: Tree, prefix: string, into = new Map<string, string>()): Map<string, string> {
  for (const [key, value] of Object.entries(tree)) {
    const path = `${prefix}.${key}`;
    if (typeof value === 'string') into.set(path, value);
    else flatten(value, path, into);
  }
  return into;
}

const strings = Object.fromEntries(
  LANGUAGES.map((language) => {
    const all = new Map<string, string>();
    for (const part of PARTS) {
      const file = new URL(`../../demo/locales/${language}/${part}.json`, import.meta.url);
      for (const [key, value] of flatten(JSON.parse(readFileSync(file, 'utf8')) as Tree, part)) all.set(key, value);
    }
    return [language, all];
  }),
) as Record<(typeof LANGUAGES)[number], Map<string, string>>;

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

describe('the strings of the controls views', () => {
  it('has the same keys and placeholders in English and German, none empty', () => {
    expect([...strings.de.keys()].sort()).toEqual([...strings.en.keys()].sort());
    for (const [key, english] of strings.en) {
      const german = strings.de.get(key)!;
      expect(english.trim(), key).not.toBe('');
      expect(german.trim(), key).not.toBe('');
      expect(placeholders(german), key).toEqual(placeholders(english));
    }
  });

  it('has every key the views name', () => {
    const named = new Set<string>([
      ...CAPABILITY_KEYS,
      ...SUMMARY_KEYS,
      ...DIAGRAM_EDGES.map((edge) => edge.labelKey),
      ...DIAGRAM_NODES.flatMap((node) => [`state.nodes.${node}.name`, `state.nodes.${node}.text`]),
      ...['waiting', 'ok', 'error'].map((result) => `state.inFlight.result.${result}`),
      ...['plain', 'tls'].map((security) => `connect.security.${security}`),
      ...PALETTE.map((spec) => `palette.commands.${spec.verb}.help`),
      ...PALETTE.flatMap((spec) => spec.fields.map((field) => `palette.fields.${field.name}`)),
    ]);
    for (const source of SOURCES) {
      const text = readFileSync(new URL(`../../demo/page/${source}`, import.meta.url), 'utf8');
      for (const match of text.matchAll(/'((?:connect|state|palette|capabilities)\.[\w.-]+)'/g)) named.add(match[1]!);
    }
    const missing = [...named].filter((key) => !strings.en.has(key));
    expect(missing).toEqual([]);
    expect(named.size).toBeGreaterThan(100);
    // And no string that no view names (dead strings get out of date unnoticed).
    const unused = [...strings.en.keys()].filter((key) => !named.has(key));
    expect(unused).toEqual([]);
  });

  it('addresses the reader as "Sie" in every German string of the page, never "du"', () => {
    const directory = new URL('../../demo/locales/de/', import.meta.url);
    const du = /\b(du|dich|dir|dein|deine|deinen|deinem|deiner|deines)\b|^(Sende|Verbinde|Melde|Lösche|Lade|Finde|Lies|Gib|Drücke|Beende|Versuch|Probier|Mach|Sieh)\b/;
    const offending: string[] = [];
    for (const file of readdirSync(directory).filter((name) => name.endsWith('.json'))) {
      const tree = JSON.parse(readFileSync(new URL(file, directory), 'utf8')) as Tree;
      for (const [key, value] of flatten(tree, file.replace(/\.json$/, ''))) {
        if (value.split(/(?<=[.:!?])\s+/).some((sentence) => du.test(sentence.trim()))) offending.push(`${key}: ${value}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('says why STLS is not offered, in both languages', () => {
    expect(strings.en.get('connect.stls.text')).toMatch(/STLS/);
    expect(strings.de.get('connect.stls.text')).toMatch(/STLS/);
  });
});
