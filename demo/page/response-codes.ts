/**
 * Response codes and errors in words, for every view that shows one (the transcript, the connect panel, the
 * status line, the mailbox). `errorMessages` is pure (keys and parameters, tested on its own); `describeError`
 * and `codeExplanation` render them in the current language.
 *
 * Each error says what happened and what to do: a -ERR with its RFC 2449 / 3206 / 6856 code, a proxy that
 * refused (WebSocket close codes and the proxy's stable reasons, see proxy/refusals.ts), a connection lost,
 * a timeout, a command the engine refused before sending it, a server that broke the protocol.
 */
import { ConnectionError, TimeoutError } from '../../core/client/errors.js';
import { WebSocketCloseError } from '../../core/client/websocket-transport.js';
import { ErrorCode, LocalProtocolError, type Pop3Error, RemoteProtocolError, SaslError, ServerError } from '../../core/errors.js';
import { type Message, responseCodeInfo, rfcLabel, rfcUrl } from './explain.js';
import { t } from './i18n.js';

/** What a response code means, in the current language, with the RFC that defines it and a link to it. */
export function codeExplanation(code: string): { title: string; text: string; rfc: string; url: string } | undefined {
  if (code.trim() === '') return undefined;
  const info = responseCodeInfo(code);
  const refined = info.rest === '' ? '' : ` ${t('codes.refined', { code: info.code, known: info.known!, rest: info.rest })}`;
  const label = rfcLabel(info.rfc);
  return {
    title: t(`codes.${info.id}.title`, { code: info.code }),
    text: t(`codes.${info.id}.text`, { code: info.code }) + refined,
    rfc: t(label.key, label.params),
    url: rfcUrl(info.rfc),
  };
}

/** An error as sentences for the page: what happened, what it means, what to do. */
export function describeError(error: Pop3Error): string {
  return errorMessages(error)
    .map((message) => t(message.key, message.params))
    .join(' ');
}

/** The proxy's reasons (close reasons after the handshake), as keys of `errors.proxy`. */
export const PROXY_REASONS = [
  'target-missing',
  'target-not-allowed',
  'token-missing',
  'token-invalid',
  'token-expired',
  'token-wrong-target',
  'address-not-allowed',
  'resolve-failed',
  'target-unreachable',
  'target-error',
  'target-closed',
  'session-timeout',
  'idle-timeout',
  'shutting-down',
  'text-frames',
  'origin-not-allowed',
  'rate-limited',
  'too-many-connections',
  'too-many-from-client',
] as const;

/** WebSocket close codes the page explains, as keys of `errors.closeCodes`. */
export const CLOSE_CODES = [1001, 1003, 1006, 1008, 1009, 1011, 1013, 1014] as const;

/** The ErrorCodes of local and remote protocol errors the page explains, as keys of `errors.local`/`errors.remote`. */
export const LOCAL_CODES = ['POP3_ERR_BAD_ARGUMENT', 'POP3_ERR_COMMAND_TOO_LONG', 'POP3_ERR_WRONG_STATE', 'POP3_ERR_NOT_SUPPORTED', 'POP3_ERR_SESSION_CLOSED', 'POP3_ERR_CANCELLED', 'POP3_ERR_TLS_REQUIRED'] as const;
export const REMOTE_CODES = ['POP3_ERR_PROTOCOL', 'POP3_ERR_LINE_TOO_LONG', 'POP3_ERR_LISTING_TOO_LARGE', 'POP3_ERR_UNEXPECTED_END', 'POP3_ERR_TLS_INJECTION'] as const;

const LOGIN_VERBS = ['PASS', 'APOP', 'AUTH', 'USER'];

/** The sentences for an error, as keys and parameters (pure). */
export function errorMessages(error: Pop3Error): Message[] {
  const detail: Message = { key: 'errors.detail', params: { detail: error.message } };
  if (error instanceof ServerError) return serverErrorMessages(error);
  if (error instanceof WebSocketCloseError) return [...closeMessages(error), detail];
  if (error instanceof TimeoutError) return [{ key: 'errors.timeout' }, detail];
  if (error instanceof SaslError) return [{ key: 'errors.sasl' }, detail];
  if (error instanceof LocalProtocolError) {
    const known = (LOCAL_CODES as readonly string[]).includes(error.code);
    return [{ key: 'errors.local.notSent' }, { key: known ? `errors.local.${error.code}` : 'errors.local.other' }, detail];
  }
  if (error instanceof RemoteProtocolError) {
    const known = (REMOTE_CODES as readonly string[]).includes(error.code);
    return [{ key: known ? `errors.remote.${error.code}` : 'errors.remote.other' }, { key: 'errors.remote.action' }, detail];
  }
  if (error instanceof ConnectionError) {
    if (error.code === ErrorCode.Tls) return [{ key: 'errors.connection.tls' }, detail];
    if (error.message === 'not connected') return [{ key: 'errors.connection.notConnected' }];
    return [{ key: 'errors.connection.lost' }, detail];
  }
  if (error.code === ErrorCode.Aborted) return [{ key: 'errors.aborted' }, detail];
  return [{ key: 'errors.other' }, detail];
}

function serverErrorMessages(error: ServerError): Message[] {
  const text = error.text === '' ? '-' : error.text;
  const command = error.command;
  const messages: Message[] = [
    command === 'greeting' ? { key: 'errors.server.greeting', params: { text } } : { key: 'errors.server.refused', params: { command, text } },
  ];
  if (error.responseCode !== undefined) {
    const info = responseCodeInfo(error.responseCode);
    messages.push({ key: 'errors.server.code', params: { code: info.code } });
    messages.push({ key: `codes.${info.id}.text`, params: { code: info.code } });
    if (info.rest !== '') messages.push({ key: 'codes.refined', params: { code: info.code, known: info.known!, rest: info.rest } });
    messages.push({ key: `codes.${info.id}.action`, params: { code: info.code } });
  } else if (LOGIN_VERBS.includes(command.split(' ')[0]!.toUpperCase())) {
    messages.push({ key: 'errors.server.loginNoCode' });
  } else if (command === 'greeting') {
    messages.push({ key: 'errors.server.greetingAction' });
  } else {
    messages.push({ key: 'errors.server.noCode' });
  }
  return messages;
}

/** The proxy's close reason as a key of `errors.proxy`, or undefined. */
export function proxyReason(reason: string): (typeof PROXY_REASONS)[number] | undefined {
  const normal = reason.trim().toLowerCase();
  if (normal.startsWith('target error')) return 'target-error';
  if (normal.startsWith('text frames')) return 'text-frames';
  const key = normal.replace(/[^a-z0-9]+/g, '-');
  return (PROXY_REASONS as readonly string[]).includes(key) ? (key as (typeof PROXY_REASONS)[number]) : undefined;
}

function closeMessages(error: WebSocketCloseError): Message[] {
  const opening = error.message.startsWith('cannot open');
  const reason = proxyReason(error.reason);
  const messages: Message[] = [
    opening ? { key: 'errors.websocket.notOpened', params: { code: error.closeCode } } : { key: 'errors.websocket.closed', params: { code: error.closeCode } },
  ];
  if (reason !== undefined) {
    messages.push({ key: `errors.proxy.${reason}`, params: { reason: error.reason } });
  } else {
    const known = (CLOSE_CODES as readonly number[]).includes(error.closeCode);
    messages.push({ key: known ? `errors.closeCodes.${error.closeCode}` : 'errors.closeCodes.other', params: { code: error.closeCode, reason: error.reason } });
  }
  return messages;
}
