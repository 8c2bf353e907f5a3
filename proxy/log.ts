/**
 * The proxy's log: metadata only. A record has no field that could hold payload bytes, so nothing a page or
 * a server sends (passwords, AUTH exchanges, mail) can reach the log by accident.
 */
import type { RefusalReason } from './refusals.js';

/** One log record. */
export type ProxyLogRecord =
  | { readonly event: 'listening'; readonly address: string; readonly port: number; readonly targets: readonly string[] }
  /** A request turned away; `session` is set when it was refused after the WebSocket handshake. */
  | {
      readonly event: 'refused';
      readonly reason: RefusalReason;
      readonly client: string;
      readonly session?: string;
      readonly target?: string;
      /** What exactly was wrong, e.g. `10.0.0.1 is private`; never request bytes beyond the target. */
      readonly detail?: string;
    }
  | {
      readonly event: 'session-open';
      readonly session: string;
      readonly client: string;
      readonly target: string;
      /** The address connected to. */
      readonly address: string;
    }
  | {
      readonly event: 'session-close';
      readonly session: string;
      readonly client: string;
      readonly target: string;
      /** Bytes from the page to the target. */
      readonly bytesUp: number;
      /** Bytes from the target to the page. */
      readonly bytesDown: number;
      readonly durationMs: number;
      /** Why it ended, e.g. `page closed`, `target closed`, `idle timeout`, `connect failed: ECONNREFUSED`. */
      readonly reason: string;
    }
  | { readonly event: 'shutdown'; readonly phase: 'draining' | 'closed'; readonly sessions: number };

/** Receives every log record. */
export type ProxyLogger = (record: ProxyLogRecord) => void;

/** A logger that writes each record as one JSON line, with a `time` field, to `stream` (default stdout). */
export function jsonLinesLogger(stream: { write(line: string): unknown } = process.stdout): ProxyLogger {
  return (record) => {
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
  };
}
