/**
 * The one thing Pop3Client needs from a runtime: a byte pipe. Reading is pulled (`read()` asks for the next
 * chunk), so a reader that stops asking is real backpressure: the transport stops reading its socket, and the
 * network's own flow control slows the server down. A new runtime (Deno, Bun, Cloudflare `connect()`, Chrome
 * Direct Sockets, a WebSocket through the proxy) is one short file implementing this interface.
 */
export interface Transport {
  /**
   * The next chunk from the peer, or undefined once the stream has ended (or after close()). Rejects when
   * the connection fails, preferably with a Pop3Error naming what happened. At most one read is pending at
   * a time. A chunk belongs to the caller from then on: the transport never reuses or modifies it, nor shares
   * its memory with anyone else (a writer's buffer, a log), so the reader may keep views into it and may
   * change it.
   */
  read(): Promise<Uint8Array | undefined>;
  /**
   * Optional: the next chunk as read() gives it, but possibly in memory the transport reuses, so that a reader
   * which copies every byte it keeps anyway (Pop3Client does) downloads without the transport
   * allocating memory per chunk. The contract:
   *   - the chunk is valid until the next call to read() or readTransient(), and only until then: the caller
   *     keeps neither it nor any view into it past that call, and copies what it needs;
   *   - until that call the transport never writes into the chunk's memory, and it never writes into memory
   *     holding a chunk that arrived and was not yet handed out (it stops reading the socket instead);
   *   - read() always returns memory the caller owns, even for bytes that arrived while transient reads were
   *     being made (the transport copies them if it must);
   *   - otherwise as read(): at most one call of either method pending at a time, undefined at the end,
   *     rejects when the connection fails.
   * A transport without reusable memory leaves it out; the client then uses read().
   */
  readTransient?(): Promise<Uint8Array | undefined>;
  /**
   * Send bytes. Resolves when the transport can take more; rejects when the connection is gone. It may be
   * called again before an earlier call has resolved: bytes go out in call order. The transport may keep a
   * reference to `bytes` until it resolves, so the caller must not modify them before then.
   */
  write(bytes: Uint8Array): Promise<void>;
  /** Close the connection in both directions at once. A pending read resolves to undefined. Idempotent. */
  close(): void;
  /**
   * Upgrade the connection to TLS in place (STLS, RFC 2595), after the server's +OK. Absent when the
   * transport cannot. It must reject, with code POP3_ERR_TLS_INJECTION, if bytes from the peer arrived and
   * were not yet read: they were sent in plaintext after the +OK, where only a TLS handshake may follow
   * (the STARTTLS injection attack), and must never be read as replies.
   */
  startTls?(): Promise<void>;
  /** True once the connection is encrypted (implicit TLS, or after startTls()). */
  readonly secure: boolean;
  /**
   * True when the peer is on this machine (a loopback address, or in the same process), so nothing sent
   * crosses a network. Pop3Client then allows a login without TLS unless told otherwise.
   */
  readonly local?: boolean;
}
