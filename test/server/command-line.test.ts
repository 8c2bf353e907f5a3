/** Splitting a command line (core/server/command-line.ts), and refusing lines with control characters. */
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../core/server/command-line.js';
import { byteArray } from '../support/transcript.js';

const parse = (line: string) => parseCommandLine(byteArray(line));
const utf8 = (text: string) => new TextEncoder().encode(text);

describe('parseCommandLine', () => {
  it('upper-cases the keyword and splits the arguments on runs of spaces', () => {
    expect(parse('list  2 ')).toEqual({ ok: true, keyword: 'LIST', args: ['2'], rest: ' 2 ', nonAscii: false });
    expect(parse('STAT')).toEqual({ ok: true, keyword: 'STAT', args: [], rest: '', nonAscii: false });
  });

  it('keeps the rest of the line verbatim for PASS', () => {
    expect(parse('PASS  a b ')).toMatchObject({ keyword: 'PASS', rest: ' a b ' });
  });

  it('marks UTF-8 arguments', () => {
    expect(parseCommandLine(utf8('USER jörg'))).toEqual({ ok: true, keyword: 'USER', args: ['jörg'], rest: 'jörg', nonAscii: true });
  });

  it.each([
    ['', 'empty'],
    ['USER a\rb', 'control characters'],
    ['USER a\0', 'control characters'],
    ['USER\ta', 'control characters'],
    ['DEL\x7f', 'control characters'],
    ['USER \xc3', 'invalid UTF-8'],
    ['USER \xc0\xaf', 'invalid UTF-8'],
  ])('refuses %j: %s', (line, problem) => {
    expect(parse(line)).toEqual({ ok: false, problem });
  });
});
