/**
 * The POP3 session states (RFC 1939 section 3) and which commands each allows, as a table.
 *
 *   connecting ──greeting +OK──► authorization ──PASS/APOP/AUTH +OK──► transaction ──QUIT──► update ──+OK──► closed
 *                                  │  ▲                                     │
 *                                  │  └──TLS up── starttls ◄──STLS +OK      └── any remote error ──► failed
 *                                  └──QUIT +OK──► closed
 *
 * `failed` is sticky: a server that broke the protocol leaves nothing to recover.
 */
import type { Verb } from './commands.js';

export type SessionState =
  | 'connecting'
  | 'authorization'
  | 'starttls'
  | 'transaction'
  | 'update'
  | 'closed'
  | 'failed';

type CommandState = 'authorization' | 'transaction';

/**
 * Where `verb` may be sent. RAW is the caller's responsibility, so it is allowed wherever a command is.
 * A switch rather than a set per state: this runs for every command a batch sends, and comparing a verb
 * with a literal is a pointer comparison where a set lookup hashes it.
 */
function validIn(verb: Verb): CommandState | 'any' {
  switch (verb) {
    case 'USER':
    case 'PASS':
    case 'APOP':
    case 'AUTH':
    case 'STLS':
    case 'UTF8':
      return 'authorization';
    case 'STAT':
    case 'LIST':
    case 'RETR':
    case 'DELE':
    case 'NOOP':
    case 'RSET':
    case 'TOP':
    case 'UIDL':
      return 'transaction';
    case 'QUIT':
    case 'CAPA':
    case 'LANG':
    case 'RAW':
      return 'any';
  }
}

/**
 * The state a session will be in once the commands ahead of a new one have been answered, assuming every
 * one of them succeeds. Commands are checked against it when queued; if an earlier command then fails, the
 * ones behind it are checked again before they are sent.
 */
export interface Projection {
  readonly state: CommandState | 'closed';
  /** USER was accepted (or is queued), so PASS may follow (RFC 1939 section 7). */
  readonly userGiven: boolean;
  /** TLS is (or will be) active, so STLS is no longer allowed (RFC 2595 section 4). */
  readonly tls: boolean;
}

/** Why `verb` cannot be sent after `projection`, or undefined when it can. */
export function refusal(verb: Verb, projection: Projection): string | undefined {
  if (projection.state === 'closed') return `${verb} after QUIT`;
  const where = validIn(verb);
  if (where !== 'any' && where !== projection.state) {
    return `${verb} is not valid in the ${projection.state.toUpperCase()} state`;
  }
  if (verb === 'PASS' && !projection.userGiven) return 'PASS must follow a successful USER';
  if (verb === 'STLS' && projection.tls) return 'STLS when TLS is already active';
  return undefined;
}

/** The projection after `verb` succeeds. */
export function afterSuccess(verb: Verb, projection: Projection): Projection {
  switch (verb) {
    case 'USER':
      return { ...projection, userGiven: true };
    case 'PASS':
    case 'APOP':
    case 'AUTH':
      return { ...projection, state: 'transaction', userGiven: false };
    case 'STLS':
      return { ...projection, tls: true, userGiven: false };
    case 'QUIT':
      return { ...projection, state: 'closed' };
    default:
      return projection;
  }
}

/**
 * Commands after which nothing else may be in flight until their reply: they change the state, the
 * connection, or how the server reads what follows (Courier, for one, drops commands pipelined after PASS).
 */
export function isBarrier(verb: Verb): boolean {
  switch (verb) {
    case 'PASS':
    case 'APOP':
    case 'AUTH':
    case 'STLS':
    case 'QUIT':
    case 'UTF8':
    case 'RAW': // nothing is known about what it does
      return true;
    default:
      return false;
  }
}
