/**
 * response-codes.ts: describeError gives a clear, actionable sentence for every error the page can meet
 * (a -ERR with its code, a proxy refusal, a lost connection, a timeout, a command refused locally, a server
 * that broke the protocol), in both languages; codeExplanation explains codes with the RFC that defines them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, TimeoutError } from '../../core/client/errors.js';
import { WebSocketCloseError } from '../../core/client/websocket-transport.js';
import { ErrorCode, LocalProtocolError, RemoteProtocolError, SaslError, ServerError } from '../../core/errors.js';
import { readLocales } from '../../demo/assets.mjs';
import { useStrings } from '../../demo/page/i18n.js';
import { CLOSE_CODES, codeExplanation, describeError, errorMessages, LOCAL_CODES, PROXY_REASONS, proxyReason, REMOTE_CODES } from '../../demo/page/response-codes.js';
import { Refusal } from '../../proxy/refusals.js';

const locales = readLocales() as Record<'en' | 'de', Record<string, unknown>>;
const hadDocument = 'document' in globalThis;
beforeAll(() => {
  // i18n sets <html lang>; the node environment has no document.
  if (!hadDocument) (globalThis as { document?: unknown }).document = { documentElement: {} };
  useStrings('en', locales.en as never);
});
afterAll(() => {
  if (!hadDocument) delete (globalThis as { document?: unknown }).document;
});

function lookup(strings: Record<string, unknown>, key: string): unknown {
  let node: unknown = strings;
  for (const part of key.split('.')) node = node !== null && typeof node === 'object' && Object.hasOwn(node, part) ? (node as Record<string, unknown>)[part] : undefined;
  return node;
}

describe('describeError', () => {
  it('a wrong password: the -ERR, its [AUTH] code, what to do', () => {
    const text = describeError(new ServerError('PASS [redacted]', 'AUTH', 'invalid user name or password'));
    expect(text).toContain('PASS [redacted]');
    expect(text).toContain('“invalid user name or password”');
    expect(text).toContain('[AUTH]');
    expect(text).toMatch(/wrong password/);
    expect(text).toMatch(/Check the user name and password/);
    expect(text).not.toMatch(/\{\w+\}/);
  });

  it('a mailbox in use, a login delay, system problems, UTF8, and unknown or refined codes', () => {
    expect(describeError(new ServerError('PASS [redacted]', 'IN-USE', 'locked'))).toMatch(/another session holds the mailbox.*End the other session/);
    expect(describeError(new ServerError('PASS [redacted]', 'LOGIN-DELAY', 'wait'))).toMatch(/too recent.*Wait/);
    expect(describeError(new ServerError('RETR 1', 'SYS/TEMP', 'busy'))).toMatch(/temporary problem.*few minutes/);
    expect(describeError(new ServerError('RETR 1', 'SYS/PERM', 'broken'))).toMatch(/will not help/);
    expect(describeError(new ServerError('USER jörg', 'UTF8', 'needs utf8'))).toMatch(/Send UTF8 first/);
    expect(describeError(new ServerError('RETR 1', 'SYS/TEMP/DISK', 'full'))).toMatch(/SYS\/TEMP\/DISK refines SYS\/TEMP: the part DISK/);
    expect(describeError(new ServerError('RETR 1', 'X-VENDOR', 'odd'))).toMatch(/\[X-VENDOR\], which is not one of the standard codes/);
  });

  it('a -ERR without a code: for a login, the likely reasons; else that nothing changed', () => {
    expect(describeError(new ServerError('PASS [redacted]', undefined, 'no'))).toMatch(/no reason code/);
    expect(describeError(new ServerError('DELE 9', undefined, 'no such message'))).toMatch(/changed nothing/);
    expect(describeError(new ServerError('greeting', undefined, 'go away'))).toMatch(/refused the session in its greeting: “go away”.*try again later/);
  });

  it('the proxy refusing, by close code and stable reason', () => {
    const refused = (code: number, reason: string, opening = false) =>
      describeError(new WebSocketCloseError(opening ? 'cannot open a WebSocket to ws://127.0.0.1:8081/' : 'the WebSocket to ws://127.0.0.1:8081/ closed', code, reason));
    expect(refused(1008, 'target-not-allowed')).toMatch(/close code 1008.*allowlist/);
    expect(refused(1008, 'token-expired')).toMatch(/expired.*Reload/);
    expect(refused(1014, 'resolve-failed')).toMatch(/DNS/);
    // The embedded server stopped: the proxy's WebSocket opened, then closed with 1014 "target unreachable".
    expect(refused(1014, 'target unreachable')).toMatch(/could not reach the POP3 server.*npm start.*offline server/);
    expect(refused(1014, 'target error: ECONNRESET')).toMatch(/\(target error: ECONNRESET\)/);
    expect(refused(1008, 'idle timeout')).toMatch(/Nothing was sent for too long/);
    expect(refused(1001, 'shutting down')).toMatch(/shutting down/);
    // Refused before the handshake (origin, caps): a browser only sees 1006.
    expect(refused(1006, '', true)).toMatch(/could not open a connection through the proxy.*not told why.*npm start/);
    expect(refused(1013, '')).toMatch(/busy/);
    expect(refused(4000, 'strange')).toMatch(/code 4000 “strange”/);
  });

  it('knows every refusal reason of the proxy', () => {
    for (const reason of Object.keys(Refusal)) {
      if (reason === 'not-found' || reason === 'upgrade-required') continue;
      expect(proxyReason(reason), reason).toBe(reason);
    }
  });

  it('lost connections, timeouts, local refusals (not sent), remote protocol errors, SASL', () => {
    expect(describeError(new ConnectionError('the connection ended'))).toMatch(/connection was lost.*not deleted.*\(Details: the connection ended\)/);
    expect(describeError(new ConnectionError('not connected'))).toBe('Not connected: connect to a server first.');
    expect(describeError(new ConnectionError('bad certificate', { tls: true }))).toMatch(/TLS/);
    expect(describeError(new TimeoutError('connecting to ws://x/ took longer than 10000 ms'))).toMatch(/No answer came in time/);
    const wrongState = describeError(new LocalProtocolError(ErrorCode.WrongState, 'STAT is not valid in the AUTHORIZATION state'));
    expect(wrongState).toMatch(/^Not sent: .*not allowed in the session's state.*\(Details: STAT is not valid/);
    expect(describeError(new RemoteProtocolError(ErrorCode.UnexpectedEnd, 'connection closed by the server'))).toMatch(/middle of an answer.*connect again/);
    expect(describeError(new RemoteProtocolError(ErrorCode.TlsInjection, 'x'))).toMatch(/STARTTLS injection/);
    expect(describeError(new SaslError('server signature mismatch'))).toMatch(/SCRAM/);
  });

  it('every key it may use exists in English and German', () => {
    const errors = [
      new ServerError('PASS [redacted]', 'AUTH', 'x'),
      new ServerError('greeting', undefined, 'x'),
      new ServerError('DELE 1', undefined, 'x'),
      new ServerError('PASS [redacted]', undefined, 'x'),
      ...PROXY_REASONS.map((reason) => new WebSocketCloseError('the WebSocket closed', 1008, reason)),
      ...CLOSE_CODES.map((code) => new WebSocketCloseError('cannot open a WebSocket', code, '')),
      new WebSocketCloseError('x', 4321, ''),
      ...LOCAL_CODES.map((code) => new LocalProtocolError(code, 'x')),
      ...REMOTE_CODES.map((code) => new RemoteProtocolError(code, 'x')),
      new LocalProtocolError(ErrorCode.Sasl, 'x'),
      new RemoteProtocolError(ErrorCode.Server, 'x'),
      new ConnectionError('x'),
      new ConnectionError('x', { tls: true }),
      new ConnectionError('not connected'),
      new TimeoutError('x'),
      new SaslError('x'),
    ];
    for (const error of errors) {
      for (const message of errorMessages(error)) {
        for (const lang of ['en', 'de'] as const) expect(typeof lookup(locales[lang], message.key), `${lang}: ${message.key}`).toBe('string');
      }
      expect(describeError(error)).not.toMatch(/\b(errors|codes)\.[a-zA-Z]/);
    }
  });

  it('speaks German when the page does', () => {
    useStrings('de', locales.de as never);
    try {
      expect(describeError(new ServerError('PASS [redacted]', 'IN-USE', 'locked'))).toMatch(/Der Server hat auf PASS \[redacted\] mit -ERR geantwortet.*Beenden Sie die andere Sitzung/);
    } finally {
      useStrings('en', locales.en as never);
    }
  });
});

describe('codeExplanation', () => {
  it('gives title, text, RFC label and link for known, refined and unknown codes', () => {
    expect(codeExplanation('IN-USE')).toEqual({
      title: 'IN-USE: the mailbox is in use',
      text: expect.stringMatching(/another session holds the mailbox/),
      rfc: 'RFC 2449, section 8.1.2',
      url: 'https://www.rfc-editor.org/rfc/rfc2449#section-8.1.2',
    });
    expect(codeExplanation('sys/temp')!.rfc).toBe('RFC 3206, section 4');
    expect(codeExplanation('AUTH')!.url).toBe('https://www.rfc-editor.org/rfc/rfc3206#section-5');
    expect(codeExplanation('UTF8')!.rfc).toBe('RFC 6856, section 5');
    expect(codeExplanation('LOGIN-DELAY')!.title).toMatch(/too soon/);
    expect(codeExplanation('SYS/PERM/QUOTA')!.text).toMatch(/refines SYS\/PERM/);
    expect(codeExplanation('X-MINE')).toMatchObject({ title: '[X-MINE]: a code the page does not know', rfc: 'RFC 2449, section 8' });
    expect(codeExplanation('')).toBeUndefined();
  });
});
