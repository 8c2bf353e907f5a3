/**
 * Exports of a session (demo/page/export.ts), from sessions recorded against the page's offline server:
 * the C:/S: transcript as on the wire (dot-stuffed bodies, secrets redacted), the by-hand session, and code
 * that is valid: the Python script parses (python3's ast) and runs against `pop3kit serve`'s sample
 * mailbox, the pop3kit code typechecks against the real API (core/ mapped as `pop3kit` and `pop3kit/node`)
 * and the Node one runs too. No export ever holds a password.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSampleMailbox } from '../../demo/assets.mjs';
import {
  browserScript,
  EXPORT_FORMATS,
  type ExportInput,
  type ExportTarget,
  exportFile,
  exportTarget,
  exportText,
  nodeScript,
  opensslText,
  pythonScript,
  splitTarget,
  transcriptText,
} from '../../demo/page/export.js';
import { OfflineServer, type SampleMailbox } from '../../demo/page/offline-server.js';
import { type DemoCommand, DemoSession } from '../../demo/page/session.js';
import { type SampleServer, startSampleServer } from '../support/sample-server.js';

const sample = readSampleMailbox() as SampleMailbox;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WRONG = 'hunter2-not-the-password';

/** Sessions to export: each runs against a fresh offline server. */
const SESSIONS: Record<string, DemoCommand[]> = {
  'USER/PASS, listings, TOP, RETR of a message with dot lines, DELE, QUIT': [
    { verb: 'CAPA' },
    { verb: 'USER', name: 'demo' },
    { verb: 'PASS', password: 'demo' },
    { verb: 'STAT' },
    { verb: 'LIST' },
    { verb: 'LIST', message: 2 },
    { verb: 'UIDL' },
    { verb: 'UIDL', message: 3 },
    { verb: 'TOP', message: 1, lines: 3 },
    { verb: 'RETR', message: 7 },
    { verb: 'RETR', message: 99 },
    { verb: 'NOOP' },
    { verb: 'DELE', message: 1 },
    { verb: 'RSET' },
    { verb: 'QUIT' },
  ],
  'APOP, UTF8 and LANG, left without QUIT': [
    { verb: 'UTF8' },
    { verb: 'APOP', name: 'demo', password: 'demo' },
    { verb: 'LANG' },
    { verb: 'STAT' },
  ],
  'SASL PLAIN and SCRAM-SHA-256 attempts, a wrong password, raw lines': [
    { verb: 'AUTH', mechanism: 'PLAIN', name: 'demo', password: WRONG },
    { verb: 'RAW', line: 'USER demo' },
    { verb: 'RAW', line: `PASS ${WRONG}` },
    { verb: 'AUTH', mechanism: 'SCRAM-SHA-256', name: 'demo', password: 'demo' },
    { verb: 'RAW', line: 'UIDL', multiline: true },
    { verb: 'RAW', line: 'NOOP' },
    { verb: 'QUIT' },
  ],
  'a lone USER': [{ verb: 'USER', name: "d'emo \"quoted\" \\ üñí" }],
};

const recorded = new Map<string, ExportInput>();

beforeAll(async () => {
  for (const [name, commands] of Object.entries(SESSIONS)) {
    const session = await DemoSession.open({ kind: 'offline', server: new OfflineServer(sample), seed: 5 });
    for (const command of commands) await session.send(command);
    await new Promise((resolve) => setTimeout(resolve, 0));
    recorded.set(name, { entries: [...session.entries], commands: [...session.recorded], target: exportTarget(session.endpoint) });
    session.close();
  }
});

const TARGETS: Record<string, ExportTarget> = {
  offline: exportTarget({ kind: 'offline', server: new OfflineServer(sample) }),
  'implicit TLS through the proxy': exportTarget({ kind: 'proxy', proxyUrl: 'wss://proxy.example.org/', target: 'pop.example.org:995', tls: true, local: false }),
  'TLS, proxy without wss': exportTarget({ kind: 'proxy', proxyUrl: 'ws://127.0.0.1:8081/', target: 'pop.example.org:995', tls: true, local: false }),
  'plain with STLS': exportTarget({ kind: 'proxy', proxyUrl: 'ws://127.0.0.1:8081/', target: 'mail.example.net:110', tls: false, local: false }, true),
  'plain, no STLS, remote': exportTarget({ kind: 'proxy', proxyUrl: 'ws://127.0.0.1:8081/', target: '[2001:db8::1]:110', tls: false, local: false }),
};

/** Every (session, target) pair. */
function* inputs(): Generator<[string, ExportInput]> {
  for (const [name, input] of recorded) {
    for (const [where, target] of Object.entries(TARGETS)) yield [`${name} / ${where}`, { ...input, target }];
  }
}

describe('export: the transcript', () => {
  it('has C:/S: lines as on the wire: dot-stuffed bodies with their final dot, secrets redacted, no page notes', () => {
    const input = recorded.get('USER/PASS, listings, TOP, RETR of a message with dot lines, DELE, QUIT')!;
    const text = transcriptText(input.entries);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^S: \+OK .*<.+@offline\.pop3kit\.invalid>$/);
    expect(lines).toContain('C: USER demo');
    expect(lines).toContain('C: PASS [redacted]');
    expect(lines).toContain('C: RETR 7');
    expect(lines.every((line) => line === '' || /^[CS]: /.test(line))).toBe(true);
    expect(text).not.toMatch(/^(connected|closed)/m);
    // The body as on the wire: every line of the message, a line starting with a dot doubled.
    const body = input.entries.find((e) => e.kind === 'body' && e.verb === 'RETR')!;
    const message = Buffer.from(body.body!).toString('utf8').split('\r\n');
    const dotted = message.filter((line) => line.startsWith('.'));
    expect(dotted.length).toBeGreaterThan(0);
    for (const line of dotted) expect(lines).toContain(`S: .${line}`);
    const retr = lines.indexOf('C: RETR 7');
    const end = lines.indexOf('S: .', retr);
    expect(end).toBeGreaterThan(retr);
    expect(lines.slice(retr + 2, end)).toEqual(message.slice(0, -1).map((line) => `S: ${line.startsWith('.') ? `.${line}` : line}`));
    expect(text.endsWith('\n')).toBe(true);
  });

  it('redacts SASL exchanges and raw lines with passwords', () => {
    const text = transcriptText(recorded.get('SASL PLAIN and SCRAM-SHA-256 attempts, a wrong password, raw lines')!.entries);
    expect(text).toContain('C: AUTH PLAIN [redacted]');
    expect(text).toContain('C: PASS [redacted]');
    expect(text).toContain('C: AUTH SCRAM-SHA-256');
    expect(text).toContain('S: + [redacted]');
    expect(text).not.toContain(WRONG);
  });

  it('has the APOP line without its digest', () => {
    const text = transcriptText(recorded.get('APOP, UTF8 and LANG, left without QUIT')!.entries);
    expect(text).toMatch(/^C: APOP demo \[redacted\]$/m);
    expect(text).not.toMatch(/APOP demo [0-9a-f]{32}/);
  });
});

describe('export: by hand', () => {
  it('opens a plain server with nc -C, and explains telnet and STLS', () => {
    const text = opensslText(recorded.values().next().value!);
    expect(text).toContain('$ nc -C 127.0.0.1 11110');
    expect(text).toContain('telnet 127.0.0.1 11110');
    expect(text).toContain('openssl s_client -connect 127.0.0.1:11110 -starttls pop3 -crlf -quiet');
    expect(text).toMatch(/-quiet matters/);
    expect(text).toContain('pop3kit serve');
    expect(text).toContain('C: USER demo');
  });

  it('opens a TLS server with openssl s_client, verifying the certificate', () => {
    const input = { ...recorded.values().next().value!, target: TARGETS['implicit TLS through the proxy']! };
    const text = opensslText(input);
    expect(text).toContain('$ openssl s_client -connect pop.example.org:995 -crlf -quiet -verify_return_error');
    expect(text).toMatch(/implicit TLS, RFC 8314/);
    expect(text).not.toContain('nc -C');
  });

  it('writes IPv6 targets so the tools accept them', () => {
    const text = opensslText({ ...recorded.values().next().value!, target: TARGETS['plain, no STLS, remote']! });
    expect(text).toContain('$ nc -C 2001:db8::1 110');
    expect(text).toContain('-connect [2001:db8::1]:110');
  });
});

describe('export: where', () => {
  it('reads targets', () => {
    expect(splitTarget('pop.example.org:995')).toEqual({ host: 'pop.example.org', port: 995 });
    expect(splitTarget('[::1]:110')).toEqual({ host: '[::1]', port: 110 });
    expect(TARGETS.offline).toMatchObject({ host: '127.0.0.1', port: 11110, tls: false, offline: true, local: true });
    expect(TARGETS['plain with STLS']).toMatchObject({ stls: true, local: false });
  });

  it('names each download', () => {
    expect(EXPORT_FORMATS.map((format) => exportFile(format).name)).toEqual([
      'pop3-session.txt',
      'pop3-session-by-hand.txt',
      'pop3_session.py',
      'pop3-session.ts',
      'pop3-session-browser.ts',
    ]);
  });
});

describe('export: code', () => {
  it('never holds a password, in any format, for any session and target', () => {
    for (const [name, input] of inputs()) {
      for (const format of EXPORT_FORMATS) {
        const text = exportText(format, input);
        expect(text, `${format}: ${name}`).not.toContain(WRONG);
        expect(text, `${format}: ${name}`).not.toMatch(/PASS demo|password: ["']demo|pass_\(["']demo|APOP demo [0-9a-f]{32}/);
      }
    }
  });

  it('Python: every script parses (python3 ast), reads the password with getpass, uses POP3_SSL for TLS', () => {
    for (const [name, input] of inputs()) {
      const script = pythonScript(input);
      const parsed = spawnSync('python3', ['-c', 'import ast,sys; ast.parse(sys.stdin.read())'], { input: script, encoding: 'utf8' });
      expect(parsed.stderr, `${name}\n${script}`).toBe('');
      expect(parsed.status, name).toBe(0);
      if (input.commands.some((c) => ['PASS', 'APOP', 'AUTH'].includes(c.verb))) expect(script).toContain('password = getpass.getpass(');
      expect(script.includes('poplib.POP3_SSL('), name).toBe(input.target.tls);
    }
    const first = pythonScript(recorded.values().next().value!);
    for (const call of ['show(pop.capa)', 'show(pop.user, "demo")', 'show(pop.pass_, password)', 'show(pop.list, 2)', 'show(pop.uidl)', 'show(pop.top, 1, 3)', 'show(pop.retr, 7)', 'show(pop.dele, 1)', 'show(pop.quit)']) {
      expect(first).toContain(call);
    }
  });

  it('pop3kit: every snippet parses, and typechecks against the real API', () => {
    const files = new Map<string, string>();
    let n = 0;
    for (const [name, input] of inputs()) {
      for (const [kind, code] of [
        ['node', nodeScript(input)],
        ['browser', browserScript(input)],
      ] as const) {
        const transpiled = ts.transpileModule(code, { reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } });
        expect(transpiled.diagnostics?.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')), `${kind}: ${name}`).toEqual([]);
        files.set(path.join(ROOT, 'test/demo/__snippets__', `${kind}-${n++}.ts`), code);
      }
    }
    // A control: a call the API does not have must be caught.
    const control = path.join(ROOT, 'test/demo/__snippets__', 'control.ts');
    files.set(control, nodeScript(recorded.values().next().value!).replace('client.stat()', 'client.status()'));
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      strict: true,
      noUnusedLocals: true,
      noEmit: true,
      skipLibCheck: true,
      paths: { 'pop3kit/node': [path.join(ROOT, 'core/node/index.ts')], pop3kit: [path.join(ROOT, 'core/index.ts')] },
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (file, language, ...rest) =>
      files.has(file) ? ts.createSourceFile(file, files.get(file)!, language) : getSourceFile(file, language, ...rest);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (file) => files.has(file) || fileExists(file);
    const program = ts.createProgram([...files.keys()], options, host);
    const diagnostics = ts.getPreEmitDiagnostics(program);
    const caught = diagnostics.filter((d) => d.file?.fileName === control).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(caught).toHaveLength(1);
    expect(caught[0]).toMatch(/^Property 'status' does not exist on type 'Pop3Client'/);
    const problems = diagnostics
      .filter((d) => d.file === undefined || (files.has(d.file.fileName) && d.file.fileName !== control))
      .map((d) => `${d.file ? path.basename(d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}\n${d.file ? files.get(d.file.fileName) : ''}`);
    expect(problems.slice(0, 3)).toEqual([]);
  }, 120_000);

  it('pop3kit: uses the API as the README has it', () => {
    const input = recorded.values().next().value!;
    const node = nodeScript(input);
    expect(node).toContain("import { connect } from 'pop3kit/node';");
    expect(node).toContain("const client = await connect({ host: \"127.0.0.1\", port: 11110, tls: 'none' });");
    expect(node).toContain('client.login({ username: "demo", password, mechanism: "USER" })');
    expect(node).toContain('process.env.POP3_PASSWORD');
    const tls = nodeScript({ ...input, target: TARGETS['implicit TLS through the proxy']! });
    expect(tls).toContain("connect({ host: \"pop.example.org\", tls: 'implicit' })");
    expect(nodeScript({ ...input, target: TARGETS['plain with STLS']! })).toContain("tls: 'starttls'");
    const remote = nodeScript({ ...input, target: TARGETS['plain, no STLS, remote']! });
    expect(remote).toContain('requireTls: false');
    const browser = browserScript({ ...input, target: TARGETS['implicit TLS through the proxy']! });
    expect(browser).toContain("import { openWebSocketTransport, Pop3Client } from 'pop3kit';");
    expect(browser).toContain('openWebSocketTransport("wss://proxy.example.org/?target=pop.example.org%3A995", { secure: true })');
    expect(browserScript(input)).toContain('{ local: true }');
  });
});

describe('export: the code runs against pop3kit serve', () => {
  let server: SampleServer;
  let dir: string;
  beforeAll(async () => {
    server = await startSampleServer();
    dir = mkdtempSync(path.join(os.tmpdir(), 'pop3kit-export-'));
  });
  afterAll(async () => {
    await server?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a command without a terminal (getpass then reads stdin), feeding `input`. */
  function run(command: string, args: string[], input: string, env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { detached: true, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out, err }));
      child.stdin.end(input);
    });
  }

  it('Python: the script logs in with the password typed, lists, reads message 7 and quits', async () => {
    const input = recorded.get('USER/PASS, listings, TOP, RETR of a message with dot lines, DELE, QUIT')!;
    const file = path.join(dir, 'pop3_session.py');
    writeFileSync(file, pythonScript({ ...input, target: { ...input.target, port: server.port } }));
    const result = await run('python3', [file], 'demo\n');
    // Without a terminal, getpass warns and prompts on stderr, then reads stdin.
    expect(result.err.replace(/.*GetPassWarning.*\n?|.*Warning: Password input may be echoed.*\n?|\s*passwd = fallback_getpass\(prompt, stream\)\n?|POP3 password: ?/g, '').trim()).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^\+OK /m);
    expect(result.out).toContain('-ERR'); // RETR 99, printed and the session goes on
    const body = input.entries.find((e) => e.kind === 'body' && e.verb === 'RETR')!;
    const subject = /^Subject: .*$/m.exec(Buffer.from(body.body!).toString('utf8'))![0];
    expect(result.out).toContain(subject);
    expect(result.out.trim().split('\n').at(-1)).toMatch(/^\+OK/);
  });

  it.runIf(existsSync(path.join(ROOT, 'dist/node.js')))('Node: the pop3kit code runs with the password from the environment', async () => {
    const input = recorded.get('USER/PASS, listings, TOP, RETR of a message with dot lines, DELE, QUIT')!;
    const code = nodeScript({ ...input, target: { ...input.target, port: server.port } }).replace(
      "from 'pop3kit/node'",
      `from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/node.js')).href)}`,
    );
    const file = path.join(dir, 'pop3-session.mjs');
    writeFileSync(file, ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText);
    const result = await run(process.execPath, [file], '', { POP3_PASSWORD: 'demo' });
    expect(result.code, result.err).toBe(0);
    expect(result.err).toBe('');
    expect(result.out).toMatch(/^USER\/PASS \{ mechanism: 'USER' \}$/m);
    expect(result.out).toMatch(/^STAT \{ count: \d+, size: \d+ \}$/m);
    expect(result.out).toMatch(/^RETR 99 .*ServerError/m);
    expect(result.out).toMatch(/^QUIT undefined$/m);
  });
});
