/**
 * The server's session states (RFC 1939 section 3) and the commands each one accepts, as tables.
 *
 *   authorization ──login (PASS, APOP, AUTH) and mailbox opened──► transaction ──QUIT──► update ──► closed
 *     │   ▲                                                             │      (deletions applied here, and only here)
 *     │   └──tlsStarted()── starttls ◄──STLS +OK                        │
 *     └──QUIT──► closed                                                 └── end of input, connection lost, idle
 *                                                                           timeout, too many bad commands or
 *   any state ── the same ending events ──► closed                          failed logins ──► closed (nothing deleted)
 *
 * | state         | commands accepted                                                         |
 * | ------------- | ------------------------------------------------------------------------- |
 * | authorization | USER PASS APOP AUTH STLS UTF8 CAPA QUIT                                   |
 * | starttls      | none: input is discarded until the TLS handshake is done (no injection)   |
 * | transaction   | STAT LIST RETR TOP DELE NOOP RSET UIDL CAPA QUIT                          |
 * | update        | none: the driver is applying the deletions; input is ignored              |
 * | closed        | none                                                                      |
 *
 * A command sent in a state that does not accept it is a bad command (-ERR, counted towards the limit).
 */

/** Where a server session is; see the diagram above. */
export type ServerState = 'authorization' | 'starttls' | 'transaction' | 'update' | 'closed';

/** The states in which commands are read at all. */
export type CommandState = 'authorization' | 'transaction';

/** Every command the server knows, with where it is valid and how many space-separated arguments it takes. */
export interface CommandSpec {
  readonly validIn: readonly CommandState[];
  /** Fewest and most arguments. PASS is special: its one argument is the rest of the line, spaces included. */
  readonly args: readonly [min: number, max: number];
}

const AUTHORIZATION = ['authorization'] as const;
const TRANSACTION = ['transaction'] as const;
const BOTH = ['authorization', 'transaction'] as const;

/** The command table: every verb the server implements, where it is valid, and its arity. */
export const COMMANDS = {
  //       valid in        arguments
  USER: { validIn: AUTHORIZATION, args: [1, 1] },
  PASS: { validIn: AUTHORIZATION, args: [1, 1] },
  APOP: { validIn: AUTHORIZATION, args: [2, 2] },
  AUTH: { validIn: AUTHORIZATION, args: [1, 2] },
  STLS: { validIn: AUTHORIZATION, args: [0, 0] },
  UTF8: { validIn: AUTHORIZATION, args: [0, 0] },
  CAPA: { validIn: BOTH, args: [0, 0] },
  QUIT: { validIn: BOTH, args: [0, 0] },
  STAT: { validIn: TRANSACTION, args: [0, 0] },
  LIST: { validIn: TRANSACTION, args: [0, 1] },
  UIDL: { validIn: TRANSACTION, args: [0, 1] },
  RETR: { validIn: TRANSACTION, args: [1, 1] },
  TOP: { validIn: TRANSACTION, args: [2, 2] },
  DELE: { validIn: TRANSACTION, args: [1, 1] },
  NOOP: { validIn: TRANSACTION, args: [0, 0] },
  RSET: { validIn: TRANSACTION, args: [0, 0] },
} as const satisfies Record<string, CommandSpec>;

/** A command verb the server implements. */
export type ServerVerb = keyof typeof COMMANDS;

/** The verb for an upper-cased keyword, or undefined for one the server does not implement. */
export function serverVerb(keyword: string): ServerVerb | undefined {
  return Object.hasOwn(COMMANDS, keyword) ? (keyword as ServerVerb) : undefined;
}
