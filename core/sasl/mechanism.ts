/**
 * The contract between the client engine and a SASL mechanism (RFC 4422 as profiled for POP3 by RFC 5034).
 * A mechanism is a small synchronous state machine: the engine asks for the initial response, hands it
 * each decoded server challenge, and tells it when the server said +OK. It never does I/O.
 *
 * Throw SaslError from `respond` or `complete` to abort: during the exchange the engine then cancels with
 * `*` (RFC 5034 section 4) and the AUTH command fails with that error.
 */
export interface SaslMechanism {
  /** The IANA mechanism name, upper case, e.g. `SCRAM-SHA-256`. */
  readonly name: string;
  /**
   * The initial client response, or undefined when the mechanism must wait for a first challenge
   * (LOGIN, CRAM-MD5). An empty array is a valid, empty initial response (sent as `=`).
   */
  initialResponse(): Uint8Array | undefined;
  /** The client's answer to one decoded server challenge. */
  respond(challenge: Uint8Array): Uint8Array;
  /**
   * The server said +OK. Throw SaslError if the mechanism has not finished (e.g. SCRAM without a verified
   * server signature): a server that cannot prove itself must not be trusted.
   */
  complete(): void;
}
