/**
 * Reading messages as the page does (message.ts, on postal-mime): every message of the sample mailbox,
 * as RETR gives it over a real session (CRLF line ends, dots unstuffed), and the HTML part made safe.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBase64 } from '../../core/bytes.js';
import { readSampleMailbox } from '../../demo/assets.mjs';
import {
  countActiveContent,
  decodeBytes,
  formatAddresses,
  formatSize,
  HTML_POLICY,
  HTML_SANDBOX,
  parseHeaderFields,
  type ParsedMessage,
  parseMessage,
  rawSource,
  safeFileName,
  safeHtmlDocument,
  summarizeHeaders,
} from '../../demo/page/message.js';
import { OfflineServer } from '../../demo/page/offline-server.js';
import { DemoSession } from '../../demo/page/session.js';

const sample = readSampleMailbox();

/** Every sample message as RETR returned it, parsed, found by its subject. */
const retrieved: { number: number; bytes: Uint8Array; message: ParsedMessage }[] = [];
const find = (subject: RegExp) => {
  const found = retrieved.find((entry) => subject.test(entry.message.subject ?? ''));
  if (found === undefined) throw new Error(`no sample message with a subject like ${subject}`);
  return found;
};

beforeAll(async () => {
  const session = await DemoSession.open({ kind: 'offline', server: new OfflineServer(sample), seed: 3 });
  await session.sendAll([
    { verb: 'USER', name: sample.user },
    { verb: 'PASS', password: sample.password },
  ]);
  const outcomes = await session.sendAll(sample.messages.map((_, index) => ({ verb: 'RETR' as const, message: index + 1 })));
  for (const [index, outcome] of outcomes.entries()) {
    if (!outcome.ok || outcome.body === undefined) throw new Error(`RETR ${index + 1} failed`);
    retrieved.push({ number: index + 1, bytes: outcome.body, message: await parseMessage(outcome.body) });
  }
  session.close();
});

describe('the sample messages, parsed', () => {
  it('parses every one, with its headers decoded', () => {
    expect(retrieved).toHaveLength(sample.messages.length);
    for (const { message, bytes } of retrieved) {
      expect(message.size).toBe(bytes.length);
      expect(message.from).toMatch(/@example\.|@[\w.-]+\.example/);
      expect(message.subject).toBeTruthy();
      expect(message.subject).not.toContain('=?');
      expect(message.messageId).toMatch(/^<.+@.+>$/);
      expect(message.dateValue).toEqual(expect.any(Number));
      expect(message.text ?? message.html).toBeTruthy();
    }
  });

  it('German, UTF-8 in quoted-printable with encoded-word headers: text and names decoded', () => {
    const { message } = find(/Sommerfest/);
    expect(message.subject).toBe('Einladung zum Sommerfest – Grüße aus dem Büro');
    expect(message.from).toBe('Jürgen Müller <juergen.mueller@example.net>');
    expect(message.to).toBe('Alle Mitarbeiterinnen und Mitarbeiter <team@example.net>');
    expect(message.cc).toBe('Demo User <demo@example.org>');
    expect(message.date).toBe('Wed, 15 Nov 2023 00:13:22 +0100');
    expect(message.text).toContain('Brezen und Weißwürste ist gesorgt');
    expect(message.text).toContain('Biergarten „Zur Fähre“');
    expect(message.html).toBeUndefined();
    expect(message.attachments).toEqual([]);
  });

  it('8bit UTF-8 (French) and ISO-8859-1 (Spanish) bodies', () => {
    expect(find(/Réunion/).message.text).toContain('salle « Mont-Blanc »');
    expect(find(/Réunion/).message.to).toBe('Équipe projet <projet@example.com>, demo@example.org');
    expect(find(/Cenamos/).message.text).toContain('¡Hola!');
    expect(find(/Cenamos/).message.from).toBe('Begoña Ruiz <begona.ruiz@example.net>');
  });

  it('HTML newsletter (multipart/alternative): both parts, nothing remote to block (a link is not fetched)', () => {
    const { message } = find(/newsletter/);
    expect(message.text).toContain('EXAMPLE CYCLING CLUB');
    expect(message.html).toContain('<h2>Winter training starts on Saturday</h2>');
    const safe = safeHtmlDocument(message.html!, message.attachments);
    expect(safe.srcdoc.startsWith(`<meta http-equiv="Content-Security-Policy" content="${HTML_POLICY}">`)).toBe(true);
    expect(safe).toMatchObject({ blockedResources: 0, blockedScripts: 0, inlineImages: 0 });
  });

  it('an image attachment: name, type, decoded size and bytes', () => {
    const { message } = find(/New icon/);
    expect(message.text).toContain('second draft of the envelope icon');
    expect(message.attachments).toHaveLength(1);
    const [icon] = message.attachments;
    expect(icon).toMatchObject({ filename: 'envelope-icon.png', mimeType: 'image/png', disposition: 'attachment', contentId: undefined });
    expect(icon!.size).toBe(icon!.content.length);
    expect([...icon!.content.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it('a thread: replies carry the subject, and lines starting with dots survive (dot-stuffing undone)', () => {
    const thread = retrieved.filter((entry) => /Release planning for 2\.0/.test(entry.message.subject ?? ''));
    expect(thread.length).toBeGreaterThanOrEqual(5);
    expect(thread.filter((entry) => entry.message.subject!.startsWith('Re: ')).length).toBe(thread.length - 1);
    const dotted = thread.find((entry) => entry.message.text?.includes('..two dots'))!;
    expect(dotted.message.text).toMatch(/\n\.config files are read before anything else\n\.\.two dots at the start of a line\n\.\.\.and three\n/);
  });

  it('the large message (1.3 MB): its log attachment whole', () => {
    const { message, bytes } = find(/Access log export/);
    expect(bytes.length).toBeGreaterThan(1_000_000);
    const [log] = message.attachments;
    expect(log).toMatchObject({ filename: 'web-03-access-2023-11-01.log', mimeType: 'text/plain' });
    expect(log!.size).toBeGreaterThan(1_000_000);
    expect(decodeBytes(log!.content).split('\n').filter((line) => line !== '')).toHaveLength(8099);
  });

  it('the hostile HTML message: script, handlers, remote image, style sheet and font are counted as blocked', () => {
    const { message } = find(/confirm your account/);
    expect(message.html).toContain('<script>');
    const safe = safeHtmlDocument(message.html!, message.attachments);
    // The policy comes first, before anything of the message.
    expect(safe.srcdoc.indexOf('<meta http-equiv="Content-Security-Policy"')).toBe(0);
    expect(safe.srcdoc.indexOf('<script>')).toBeGreaterThan(safe.srcdoc.indexOf(HTML_POLICY));
    // The script, the body's onload and the image's onerror; the style sheet, the font, the pixel and "x".
    expect(safe.blockedScripts).toBe(3);
    expect(safe.blockedResources).toBe(4);
  });
});

describe('the safe HTML document', () => {
  it('has a policy that blocks every fetch but inline styles and data: images', () => {
    const directives = new Map(HTML_POLICY.split(';').map((part) => part.trim().split(/\s+/) as [string, ...string[]]).map(([name, ...values]) => [name, values]));
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('img-src')).toEqual(['data:', 'cid:']);
    expect(directives.get('style-src')).toEqual(["'unsafe-inline'"]);
    expect(HTML_POLICY).not.toMatch(/https?:|\*|'self'|script-src/);
    expect(HTML_SANDBOX.split(/\s+/)).not.toContain('allow-scripts');
    expect(HTML_SANDBOX.split(/\s+/)).not.toContain('allow-same-origin');
    expect(HTML_SANDBOX.split(/\s+/)).not.toContain('allow-forms');
    expect(HTML_SANDBOX.split(/\s+/)).not.toContain('allow-top-navigation');
  });

  it('puts the policy first, before anything of the message', () => {
    const { srcdoc } = safeHtmlDocument('<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="default-src *"></head><body>x</body></html>');
    expect(srcdoc.startsWith(`<meta http-equiv="Content-Security-Policy" content="${HTML_POLICY}">`)).toBe(true);
  });

  it('shows inline images (cid:) as data: URLs from the attachments, and leaves unknown ones blocked', async () => {
    const png = fromBase64('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==')!;
    const raw = [
      'From: a@example.org',
      'Subject: inline',
      'MIME-Version: 1.0',
      'Content-Type: multipart/related; boundary="b"',
      '',
      '--b',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p><img src="cid:dot@example.org" alt="dot"> <img src="cid:missing@example.org"></p>',
      '--b',
      'Content-Type: image/png',
      'Content-ID: <dot@example.org>',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(png).toString('base64'),
      '--b--',
      '',
    ].join('\r\n');
    const message = await parseMessage(new TextEncoder().encode(raw));
    expect(message.attachments[0]).toMatchObject({ contentId: 'dot@example.org', mimeType: 'image/png' });
    const safe = safeHtmlDocument(message.html!, message.attachments);
    expect(safe.inlineImages).toBe(1);
    expect(safe.srcdoc).toContain(`src="data:image/png;base64,${Buffer.from(png).toString('base64')}"`);
    expect(safe.srcdoc).toContain('src="cid:missing@example.org"');
  });

  it('counts what would be fetched, not links', () => {
    expect(countActiveContent('<a href="https://example.com/">x</a><area href="//x">')).toEqual({ resources: 0, scripts: 0 });
    expect(countActiveContent('<img src="data:image/png;base64,AA"><img src=cid:a>')).toEqual({ resources: 0, scripts: 0 });
    expect(countActiveContent('<table background="http://x/y.png"><td style="background:url(\'//x/z.png\')">')).toEqual({ resources: 2, scripts: 0 });
    expect(countActiveContent('<style>@import "https://x/a.css"; p { background: url(data:image/png;base64,AA) }</style>')).toEqual({ resources: 1, scripts: 0 });
    expect(countActiveContent('<script src="https://x/a.js"></script><div onclick="x()">')).toEqual({ resources: 0, scripts: 2 });
  });
});

describe('headers, sizes, raw source', () => {
  it('unfolds header fields up to the empty line', () => {
    expect(parseHeaderFields('Subject: a\r\n b\r\nX-Y:  z \r\n\r\nBody: no\r\n')).toEqual([
      { name: 'subject', value: 'a b' },
      { name: 'x-y', value: 'z' },
    ]);
  });

  it('summarizes a head, falling back to Latin-1 for raw 8-bit headers that are not UTF-8', () => {
    const latin1 = Uint8Array.from([...'From: J\xfcrgen <j@example.org>\r\nSubject: Gr\xfc\xdfe\r\n\r\n'].map((c) => c.charCodeAt(0)));
    expect(summarizeHeaders(latin1)).toMatchObject({ from: 'Jürgen', subject: 'Grüße', date: undefined });
    expect(summarizeHeaders(new TextEncoder().encode('Subject: Grüße\r\n\r\n')).subject).toBe('Grüße');
    expect(summarizeHeaders(new TextEncoder().encode('From: undisclosed-recipients:;\r\n\r\n')).from).toBeDefined();
  });

  it('formats addresses and groups', () => {
    expect(formatAddresses([{ name: '', address: 'a@example.org' }, { name: 'B', address: 'b@example.org' }])).toBe('a@example.org, B <b@example.org>');
    expect(formatAddresses([{ name: 'Team', group: [{ name: '', address: 'c@example.org' }] }])).toBe('Team: c@example.org;');
  });

  it('formats sizes in English and German', () => {
    expect(formatSize(883, 'en')).toBe('883 bytes');
    expect(formatSize(2040, 'en')).toBe('2 kB');
    expect(formatSize(1_300_914, 'en')).toBe('1.3 MB');
    expect(formatSize(1_300_914, 'de')).toBe('1,3 MB');
    expect(formatSize(45_300, 'de')).toBe('45 kB');
  });

  it('shows the raw source, at most the first part of a large message', () => {
    const { bytes } = find(/Access log export/);
    const raw = rawSource(bytes);
    expect(raw.shownOctets).toBe(256 * 1024);
    expect(raw.text.startsWith('Return-Path: <ops@example.com>\r\n')).toBe(true);
    const small = find(/Sommerfest/).bytes;
    expect(rawSource(small)).toEqual({ text: decodeBytes(small), shownOctets: small.length });
    expect(rawSource(small).text).toContain('=?utf-8?b?SsO8cmdlbiBNw7xsbGVy?=');
  });
});

describe('attachment file names', () => {
  it('keeps an ordinary name as it is', () => {
    expect(safeFileName('envelope-icon.png', 'Attachment 1')).toBe('envelope-icon.png');
    expect(safeFileName('Jürgens Bericht 2023.pdf', 'Attachment 1')).toBe('Jürgens Bericht 2023.pdf');
  });

  it('drops paths, control and bidirectional characters, hidden-file dots and Windows-reserved names', () => {
    expect(safeFileName('../../.ssh/authorized_keys', 'x')).toBe('authorized_keys');
    expect(safeFileName('C:\\Windows\\system32\\evil.dll', 'x')).toBe('evil.dll');
    expect(safeFileName('a\n/../b.txt', 'x')).toBe('b.txt');
    expect(safeFileName('invoice\u202Efdp.exe', 'x')).toBe('invoicefdp.exe');
    expect(safeFileName('.bashrc', 'x')).toBe('bashrc');
    expect(safeFileName('what?<now>:"x"|*.txt', 'x')).toBe('what__now___x___.txt');
    expect(safeFileName('report.pdf. . ', 'x')).toBe('report.pdf');
    expect(safeFileName('CON.txt', 'x')).toBe('_CON.txt');
    expect(safeFileName('lpt1', 'x')).toBe('_lpt1');
  });

  it('shortens a very long name but keeps its extension, and falls back when nothing is left', () => {
    const long = safeFileName(`${'a'.repeat(400)}.pdf`, 'x');
    expect([...long]).toHaveLength(150);
    expect(long.endsWith('a.pdf')).toBe(true);
    expect(safeFileName(undefined, 'Attachment 2')).toBe('Attachment 2');
    expect(safeFileName('\u202E/..', 'Attachment 2')).toBe('Attachment 2');
    expect(safeFileName('', '')).toBe('attachment');
  });
});
