/**
 * A value that must never appear in a transcript, log or error message (passwords, SASL payloads).
 * Every way of turning it into text yields `[redacted]`; only `reveal()` gives the value back.
 */
export class Secret<T = string> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  /** The protected value. Call it only where the value is put on the wire. */
  reveal(): T {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  // Node's util.inspect (console.log) looks for this symbol; using Symbol.for keeps core free of Node imports.
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED;
  }
}

/** What a secret looks like in any text output. */
export const REDACTED = '[redacted]';

/** Text the caller may hand over either plainly or already wrapped as a Secret. */
export type SecretText = string | Secret<string>;

/** The plain value of a SecretText. */
export function revealText(value: SecretText): string {
  return typeof value === 'string' ? value : value.reveal();
}
