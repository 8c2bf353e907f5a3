/**
 * Building the server's reply lines. The engine never echoes what the client sent: every reply is made from
 * the engine's own words, numbers it parsed, and mailbox data it validated. The check here is the backstop:
 * a reply line holding a control character (which could end the line early and forge another reply) is a
 * bug, so it throws instead of reaching the wire.
 */
import { toBase64 } from '../bytes.js';

/** An RFC 2449 / 3206 / 6856 response code, without brackets. */
export type ResponseCode = 'AUTH' | 'IN-USE' | 'LOGIN-DELAY' | 'SYS/TEMP' | 'SYS/PERM' | 'UTF8';

const CONTROL = /[\x00-\x1f\x7f]/;

/** `+OK text` or `-ERR [CODE] text`, CRLF included. */
export function statusLine(ok: boolean, text: string, code?: ResponseCode): string {
  const indicator = ok ? '+OK' : '-ERR';
  const body = [code === undefined ? '' : `[${code}]`, text].filter((part) => part !== '').join(' ');
  return checked(body === '' ? indicator : `${indicator} ${body}`);
}

/** One line of a multi-line reply (dot-stuffed), CRLF included. */
export function listingLine(text: string): string {
  return checked(text.startsWith('.') ? `.${text}` : text);
}

/** The end of a multi-line reply. */
export const END_OF_LISTING = '.\r\n';

/** A SASL challenge (RFC 5034 section 4): `+ ` and the base64 payload, which may be empty. */
export function challengeLine(challenge: Uint8Array): string {
  return `+ ${toBase64(challenge)}\r\n`;
}

/** Either half of "1 message" / "2 messages". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function checked(line: string): string {
  if (CONTROL.test(line)) throw new Error(`bug: a reply line contains a control character: ${JSON.stringify(line)}`);
  return `${line}\r\n`;
}
