/**
 * Exports of a session: the transcript as text (`C:`/`S:` lines as in the RFCs' examples, bodies as they
 * crossed the wire, dot-stuffing included), the same conversation by hand with `nc`/`openssl s_client`, and
 * the recorded commands as code: a Python poplib script, and pop3kit in Node and in a page.
 *
 * Secrets never appear: lines the session redacted stay redacted (`PASS [redacted]`, SASL exchanges), raw
 * lines that carry credentials are redacted here too, and the scripts read the password when they run
 * (getpass, an environment variable, a password field), never from their own text.
 *
 * Everything here is pure (strings in, strings out), so it is tested in Node: the Python script must
 * parse (python3's ast) and the pop3kit code must typecheck against the real API. The code's comments are in
 * English, like the code itself; the page's own text around it comes from the locale files.
 */
import { type DemoCommand, describe, type Endpoint, rawCredential, type TranscriptEntry, withTarget } from './session.js';

/** The formats, in the order the Share tab offers them. */
export const EXPORT_FORMATS = ['transcript', 'openssl', 'python', 'node', 'browser'] as const;
/** One of {@link EXPORT_FORMATS}. */
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Where the exported session goes: the server the page talked to, or for offline mode the same sample served by `pop3kit serve`. */
export interface ExportTarget {
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (RFC 8314). In the page the proxy originated it; the page spoke plain POP3 to the proxy. */
  readonly tls: boolean;
  /** The server offered STLS in CAPA (RFC 2595): a plain connection can be upgraded before logging in. */
  readonly stls: boolean;
  /** The session ran against the page's offline server. */
  readonly offline: boolean;
  /** The server is on this machine (loopback): pop3kit logs in without TLS there. */
  readonly local: boolean;
  /** The proxy's WebSocket URL, for the browser code. */
  readonly proxyUrl: string;
}

/** What an export is made from: a session's transcript and recorded commands, and where it went. */
export interface ExportInput {
  readonly entries: readonly TranscriptEntry[];
  /** The commands as recorded (passwords `*`). */
  readonly commands: readonly DemoCommand[];
  readonly target: ExportTarget;
}

/** The embedded sample server of `npm start` and `npx pop3kit serve` (README), and the proxy of `npm start`. */
export const SAMPLE_HOST = '127.0.0.1';
export const SAMPLE_PORT = 11110;
export const SAMPLE_PROXY_URL = 'ws://127.0.0.1:8081/';

/** The export target for a session's endpoint; `stls` from the server's capabilities. */
export function exportTarget(endpoint: Endpoint, stls = false): ExportTarget {
  if (endpoint.kind === 'offline') {
    return { host: SAMPLE_HOST, port: SAMPLE_PORT, tls: false, stls: false, offline: true, local: true, proxyUrl: SAMPLE_PROXY_URL };
  }
  const { host, port } = splitTarget(endpoint.target);
  return { host, port, tls: endpoint.tls, stls, offline: false, local: endpoint.local || isLoopback(host), proxyUrl: endpoint.proxyUrl };
}

/** `HOST:PORT` or `[v6]:PORT`; a target without a port gets 110 (995 with TLS is the proxy's business). */
export function splitTarget(target: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(target);
  if (match === null) return { host: target, port: 110 };
  return { host: match[1]!, port: Number(match[2]) };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

/** The export in a format. */
export function exportText(format: ExportFormat, input: ExportInput): string {
  switch (format) {
    case 'transcript':
      return transcriptText(input.entries);
    case 'openssl':
      return opensslText(input);
    case 'python':
      return pythonScript(input);
    case 'node':
      return nodeScript(input);
    case 'browser':
      return browserScript(input);
  }
}

/** The file name and type of a download. */
export function exportFile(format: ExportFormat): { readonly name: string; readonly type: string } {
  switch (format) {
    case 'transcript':
      return { name: 'pop3-session.txt', type: 'text/plain;charset=utf-8' };
    case 'openssl':
      return { name: 'pop3-session-by-hand.txt', type: 'text/plain;charset=utf-8' };
    case 'python':
      return { name: 'pop3_session.py', type: 'text/x-python;charset=utf-8' };
    case 'node':
      return { name: 'pop3-session.ts', type: 'text/plain;charset=utf-8' };
    case 'browser':
      return { name: 'pop3-session-browser.ts', type: 'text/plain;charset=utf-8' };
  }
}

// ─── The transcript ───────────────────────────────────────────────────────────────────────────────────────

/**
 * `C: ` and `S: ` lines, one per line on the wire. Each ends with LF, as in the RFCs' examples: the CRLF that
 * ended it on the wire is implied. A body's lines are as they crossed the wire: dot-stuffed, with the final
 * `.`. The page's own notes (connected, closed) are left out.
 */
export function transcriptText(entries: readonly TranscriptEntry[]): string {
  const lines: string[] = [];
  for (const entry of entries) {
    if (entry.from === 'local') continue;
    const prefix = entry.from === 'client' ? 'C: ' : 'S: ';
    for (const line of entryLines(entry)) lines.push(prefix + line);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The lines of one entry as they crossed the wire, secrets redacted. */
function entryLines(entry: TranscriptEntry): string[] {
  if (entry.from === 'client') {
    const credential = rawCredential(entry.text);
    if (credential !== undefined) return [credential.shown];
  }
  if (entry.wire === undefined) return [printable(entry.text)];
  const text = decodeWire(entry.wire);
  const parts = text.split(/\r\n|\n/);
  if (parts.at(-1) === '') parts.pop();
  return parts.map(printable);
}

/** UTF-8 when the bytes are UTF-8, else Latin-1 (one character per byte, as a terminal would show most of it). */
function decodeWire(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    let out = '';
    for (const byte of bytes) out += String.fromCharCode(byte);
    return out;
  }
}

/**
 * Control characters other than tab as `^X`, and Unicode line breaks as `\uXXXX`, so that a line stays one
 * line: in the transcript, and in a `#` or `//` comment of the exported code.
 */
function printable(line: string): string {
  return line.replace(/[\0-\x08\x0a-\x1f\x7f\u0085\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? `^${String.fromCharCode(code + 0x40)}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

// ─── By hand: nc, telnet, openssl s_client ────────────────────────────────────────────────────────────────

/** The session as you would type it yourself, with the command that opens the connection and why. */
export function opensslText(input: ExportInput): string {
  const { target } = input;
  const where = `${target.host}:${target.port}`;
  const plainHost = target.host.replace(/^\[|\]$/g, '');
  const head: string[] = ['# The POP3 session recorded on the pop3kit demo page, to replay by hand.'];
  if (target.offline) {
    head.push(
      '# It ran against the offline server inside the page, which nothing outside the page can reach. The same',
      '# sample mailbox (user demo) is served by `npm start` or `npx pop3kit serve` (see the README) on ' + where + '.',
    );
  }
  let open: string;
  if (target.tls) {
    open = `openssl s_client -connect ${where} -crlf -quiet -verify_return_error`;
    head.push(
      `# ${printable(where)} speaks POP3 inside TLS from the first byte (implicit TLS, RFC 8314). In the page, the proxy`,
      '# opened that TLS connection and the page spoke plain POP3 to the proxy; by hand, openssl does the TLS:',
      `#   ${printable(open)}`,
    );
  } else {
    open = `nc -C ${plainHost} ${target.port}`;
    head.push(
      `# ${printable(where)} speaks plain POP3: no TLS, everything (passwords too) crosses the network readable.`,
      '# POP3 ends lines with CRLF, so use netcat with -C (OpenBSD netcat) or telnet, which sends CRLF:',
      `#   ${printable(open)}`,
      `#   telnet ${printable(plainHost)} ${target.port}`,
      `# A server that offers STLS${target.stls ? ' (this one does)' : ''} can be upgraded to TLS before you log in:`,
      `#   openssl s_client -connect ${printable(where)} -starttls pop3 -crlf -quiet`,
    );
  }
  head.push(
    '# -crlf sends CRLF line ends. -quiet matters: without it, s_client takes a line starting with Q or R as its',
    '# own command (quit, renegotiate), so QUIT, RETR and RSET would never reach the server.',
    '# Type the C: lines without "C: "; the S: lines are what the server answered in the page.',
    '# [redacted] stands for what you type yourself: the password (PASS), the APOP digest (MD5 of the',
    "# greeting's <timestamp> followed by the password), or a SASL exchange in base64.",
    '',
    `$ ${printable(open)}`,
  );
  return `${head.join('\n')}\n${transcriptText(input.entries)}`;
}

// ─── Python poplib ────────────────────────────────────────────────────────────────────────────────────────

/**
 * A string literal for Python and JavaScript alike: a JSON string is one in both (the same escapes; the
 * scripts are UTF-8 source).
 */
function literal(text: string): string {
  return JSON.stringify(text);
}

/** A Python script doing the recorded commands with poplib; the password is read with getpass. */
export function pythonScript(input: ExportInput): string {
  const { target, commands } = input;
  const needsPassword = commands.some(hasPassword);
  const usesBase64 = commands.some((c) => c.verb === 'AUTH' && c.mechanism === 'PLAIN');
  const usesSsl = target.tls || target.stls;
  const out: string[] = [
    '#!/usr/bin/env python3',
    '"""The POP3 session recorded on the pop3kit demo page, with Python\'s poplib.',
    '',
    'Run it with: python3 pop3_session.py',
    '"""',
    ...targetComments(target, '#'),
    ...(usesBase64 ? ['import base64'] : []),
    ...(needsPassword ? ['import getpass'] : []),
    'import poplib',
    ...(usesSsl ? ['import ssl'] : []),
    '',
    `HOST = ${literal(target.host.replace(/^\[|\]$/g, ''))}`,
    `PORT = ${target.port}`,
    '',
    '',
    'def show(call, *args):',
    '    """Run one poplib call and print its answer; a -ERR is printed, not raised, as in the page."""',
    '    try:',
    '        answer = call(*args)',
    '    except poplib.error_proto as error:',
    '        reply = error.args[0] if error.args else error',
    '        print(reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply)',
    '        return None',
    '    if isinstance(answer, tuple) and len(answer) == 3:  # list(), uidl(), retr(), top(): (response, lines, octets)',
    '        response, lines, _octets = answer',
    '        print(response.decode("utf-8", "replace"))',
    '        for line in lines:',
    '            print(line.decode("utf-8", "replace"))',
    '    elif isinstance(answer, bytes):',
    '        print(answer.decode("utf-8", "replace"))',
    '    else:',
    '        print(answer)',
    '    return answer',
    '',
    '',
  ];
  if (needsPassword) {
    out.push('# The password is asked for when the script runs: it is never written in the script.', 'password = getpass.getpass("POP3 password: ")', '');
  }
  if (target.tls) out.push('pop = poplib.POP3_SSL(HOST, PORT, context=ssl.create_default_context(), timeout=30)');
  else out.push('pop = poplib.POP3(HOST, PORT, timeout=30)');
  if (target.stls) out.push('# The server offers STLS: upgrade to TLS before logging in (the page could not; a script can).', 'pop.stls(ssl.create_default_context())');
  out.push('print(pop.getwelcome().decode("utf-8", "replace"))');
  for (const command of commands) out.push(...pythonCommand(command));
  if (commands.at(-1)?.verb !== 'QUIT') out.push('# The session in the page ended without QUIT: close without committing deletions.', 'pop.close()');
  return `${out.join('\n')}\n`;
}

function pythonCommand(command: DemoCommand): string[] {
  const label = `# ${printable(describe(command))}`;
  switch (command.verb) {
    case 'USER':
      return [`show(pop.user, ${literal(command.name)})`];
    case 'PASS':
      return ['show(pop.pass_, password)'];
    case 'APOP':
      return [`show(pop.apop, ${literal(command.name)}, password)`];
    case 'AUTH':
      if (command.mechanism === 'PLAIN') {
        return [
          '# AUTH PLAIN: poplib has no SASL support; its internal _shortcmd sends the command with the initial response.',
          `show(pop._shortcmd, "AUTH PLAIN " + base64.b64encode(("\\0" + ${literal(command.name)} + "\\0" + password).encode()).decode())`,
        ];
      }
      return [
        `# AUTH ${command.mechanism}: poplib has no SASL support; this logs in with USER and PASS instead.`,
        `show(pop.user, ${literal(command.name)})`,
        'show(pop.pass_, password)',
      ];
    case 'STAT':
      return ['show(pop.stat)'];
    case 'NOOP':
      return ['show(pop.noop)'];
    case 'RSET':
      return ['show(pop.rset)'];
    case 'QUIT':
      return ['show(pop.quit)'];
    case 'CAPA':
      return ['show(pop.capa)'];
    case 'UTF8':
      return ['show(pop.utf8)'];
    case 'LIST':
    case 'UIDL': {
      const method = command.verb === 'LIST' ? 'pop.list' : 'pop.uidl';
      return [command.message === undefined ? `show(${method})` : `show(${method}, ${command.message})`];
    }
    case 'RETR':
      return [`show(pop.retr, ${command.message})`];
    case 'DELE':
      return [`show(pop.dele, ${command.message})`];
    case 'TOP':
      return [`show(pop.top, ${command.message}, ${command.lines})`];
    case 'LANG':
      return command.tag === undefined
        ? ['# LANG (RFC 6856): poplib has no method for it; its internal _longcmd reads the list.', 'show(pop._longcmd, "LANG")']
        : ['# LANG (RFC 6856): poplib has no method for it; its internal _shortcmd sends it.', `show(pop._shortcmd, ${literal(`LANG ${command.tag}`)})`];
    case 'RAW': {
      const credential = rawCredential(command.line);
      if (credential?.kind === 'PASS') return ['# A raw PASS line, with the password read above.', 'show(pop._shortcmd, "PASS " + password)'];
      if (credential?.kind === 'APOP') return [`# A raw APOP line: poplib computes the digest.`, `show(pop.apop, ${literal(credential.prefix.split(' ')[1] ?? '')}, password)`];
      if (credential !== undefined) return [`# ${printable(credential.shown)}: a raw SASL line with credentials, left out.`];
      const method = command.multiline === true ? 'pop._longcmd' : 'pop._shortcmd';
      return [`${label} (a raw line: poplib's internal ${method.slice(4)} sends it as typed)`, `show(${method}, ${literal(command.line)})`];
    }
  }
}

function hasPassword(command: DemoCommand): boolean {
  return command.verb === 'PASS' || command.verb === 'APOP' || command.verb === 'AUTH' || (command.verb === 'RAW' && rawCredential(command.line) !== undefined);
}

function targetComments(target: ExportTarget, mark: '#' | '//'): string[] {
  const where = printable(`${target.host}:${target.port}`);
  const lines: string[] = [];
  if (target.offline) {
    lines.push(
      `${mark} The session ran against the page's offline server. The same sample mailbox (user demo) is served on`,
      `${mark} ${where} by \`npm start\` or \`npx pop3kit serve\` (see pop3kit's README).`,
    );
  } else if (target.tls) {
    lines.push(`${mark} ${where}: POP3 inside TLS from the first byte (RFC 8314), certificate verified.`);
  } else {
    lines.push(`${mark} ${where}: plain POP3, without TLS${target.stls ? ' (the server offers STLS, used below)' : ''}.`);
  }
  return lines;
}

// ─── pop3kit ──────────────────────────────────────────────────────────────────────────────────────────────

const SHOW_TS = [
  '/** Run one call and print its answer; a -ERR is printed, not thrown, as in the page. */',
  'async function show(what: string, call: () => Promise<unknown>): Promise<void> {',
  '  try {',
  '    const answer = await call();',
  '    console.log(what, answer instanceof Uint8Array ? new TextDecoder().decode(answer) : answer);',
  '  } catch (error) {',
  '    console.log(what, String(error));',
  '  }',
  '}',
];

/** pop3kit in Node: `connect` from `pop3kit/node`, the password from the environment. */
export function nodeScript(input: ExportInput): string {
  const { target, commands } = input;
  const tls = target.tls ? 'implicit' : target.stls ? 'starttls' : 'none';
  const out: string[] = [
    '// The POP3 session recorded on the pop3kit demo page, with pop3kit in Node.',
    ...targetComments(target, '//'),
    '// Run it with the password in the environment, e.g. POP3_PASSWORD=... npx tsx pop3-session.ts',
    "import { connect } from 'pop3kit/node';",
    '',
  ];
  const calls = clientCommands(commands, loginExtra(target));
  if (calls.show) out.push(...SHOW_TS, '');
  if (calls.login) {
    out.push(
      '// The password comes from the environment: it is never written in the code.',
      'const password = process.env.POP3_PASSWORD;',
      "if (password === undefined) throw new Error('set POP3_PASSWORD to the password of the account');",
    );
  }
  const port = target.tls && target.port === 995 ? '' : `, port: ${target.port}`;
  out.push(`const client = await connect({ host: ${literal(target.host.replace(/^\[|\]$/g, ''))}${port}, tls: '${tls}' });`);
  if (tls === 'starttls') out.push('// tls: starttls upgraded the connection with STLS before anything else was sent.');
  out.push('console.log(client.greeting?.text);', ...calls.lines);
  return `${out.join('\n')}\n`;
}

/** pop3kit in a page: the WebSocket transport to pop3kit's proxy, the password from a password field. */
export function browserScript(input: ExportInput): string {
  const { target, commands } = input;
  const url = withTarget(target.proxyUrl, `${target.host}:${target.port}`);
  const secure = url.startsWith('wss:') && target.tls;
  const options = secure ? '{ secure: true }' : target.local ? '{ local: true }' : '{}';
  const out: string[] = [
    '// The POP3 session recorded on the pop3kit demo page, with pop3kit in a web page. A page cannot open TCP',
    "// connections: it speaks POP3 over a WebSocket to pop3kit's proxy (`npx pop3kit proxy`, see the README),",
    '// which must allow the target and the origin of your page.',
    ...targetComments(target, '//'),
  ];
  if (target.offline) out.push('// The proxy URL below is the one `npm start` runs.');
  if (target.tls && !secure) {
    out.push(
      '// The proxy originates TLS to the server; put it behind a TLS-terminating reverse proxy (wss:) and pass',
      '// { secure: true } so that login() knows the whole path is encrypted.',
    );
  }
  out.push(
    "import { openWebSocketTransport, Pop3Client } from 'pop3kit'; // without a bundler: './pop3kit.browser.js'",
    '',
  );
  const calls = clientCommands(commands, secure || target.local ? '' : ', requireTls: false');
  if (calls.show) out.push(...SHOW_TS, '');
  if (calls.login) {
    out.push(
      '// The password comes from a password field of your page: it is never written in the code.',
      "const password = document.querySelector<HTMLInputElement>('input[type=password]')?.value ?? '';",
    );
  }
  out.push(
    `const transport = await openWebSocketTransport(${literal(url)}, ${options});`,
    'const client = new Pop3Client(transport);',
    'console.log((await client.connect()).text);',
  );
  out.push(...calls.lines);
  return `${out.join('\n')}\n`;
}

/** login() refuses to send credentials without TLS, except to this machine; say so where the page did it anyway. */
function loginExtra(target: ExportTarget): string {
  return target.tls || target.stls || target.local ? '' : ', requireTls: false';
}

/** The recorded commands as Pop3Client calls, each through show(); `login` when one needs the password. */
function clientCommands(commands: readonly DemoCommand[], extra: string): { lines: string[]; login: boolean; show: boolean } {
  const out: string[] = [];
  let usesPassword = false;
  const unsafe = extra === '' ? [] : ['// requireTls: false lets login() send the password without TLS, as the page did: only on a network you trust.'];
  const login = (username: string, mechanism: string, what: string) => {
    usesPassword = true;
    return [
      ...unsafe,
      `await show(${literal(what)}, () => client.login({ username: ${literal(username)}, password, mechanism: ${literal(mechanism)}${extra} }));`,
    ];
  };
  for (let i = 0; i < commands.length; i++) {
    const command = commands[i]!;
    const next = commands[i + 1];
    switch (command.verb) {
      case 'USER':
        if (next?.verb === 'PASS') {
          out.push('// USER and PASS: login() sends both (pipelined when the server allows).', ...login(command.name, 'USER', 'USER/PASS'));
          i++;
        } else {
          out.push(`// USER ${printable(command.name)} without PASS: Pop3Client sends USER only as part of login().`);
        }
        break;
      case 'PASS':
        out.push('// PASS without USER before it: Pop3Client sends PASS only as part of login().');
        break;
      case 'APOP':
        out.push(...login(command.name, 'APOP', 'APOP'));
        break;
      case 'AUTH':
        out.push(...login(command.name, command.mechanism, `AUTH ${command.mechanism}`));
        break;
      case 'STAT':
        out.push("await show('STAT', () => client.stat());");
        break;
      case 'NOOP':
        out.push("await show('NOOP', () => client.noop());");
        break;
      case 'RSET':
        out.push("await show('RSET', () => client.rset());");
        break;
      case 'QUIT':
        out.push("await show('QUIT', () => client.quit());");
        break;
      case 'CAPA':
        out.push("await show('CAPA', () => client.capa());");
        break;
      case 'UTF8':
        out.push("await show('UTF8', () => client.utf8());");
        break;
      case 'LIST':
      case 'UIDL': {
        const method = command.verb === 'LIST' ? 'list' : 'uidl';
        const arg = command.message === undefined ? '' : String(command.message);
        out.push(`await show(${literal(describe(command))}, () => client.${method}(${arg}));`);
        break;
      }
      case 'RETR':
        out.push(`await show(${literal(describe(command))}, () => client.retr(${command.message}));`);
        break;
      case 'DELE':
        out.push(`await show(${literal(describe(command))}, () => client.dele(${command.message}));`);
        break;
      case 'TOP':
        out.push(`await show(${literal(describe(command))}, () => client.top(${command.message}, ${command.lines}));`);
        break;
      case 'LANG':
        out.push(`await show(${literal(describe(command))}, () => client.lang(${command.tag === undefined ? '' : literal(command.tag)}));`);
        break;
      case 'RAW': {
        const credential = rawCredential(command.line);
        const shown = credential === undefined ? command.line : credential.shown;
        out.push(`// ${printable(shown)}: a raw line; Pop3Client has no call for it (Pop3ClientEngine's raw() sends one).`);
        break;
      }
    }
  }
  if (commands.at(-1)?.verb !== 'QUIT') out.push('// The session in the page ended without QUIT: close without committing deletions.', 'client.close();');
  return { lines: out, login: usesPassword, show: out.some((line) => line.startsWith('await show(')) };
}
