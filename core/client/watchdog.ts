/**
 * The async client's only use of time. The engine never sees a clock (DESIGN.md, "Deterministic"); the driver
 * owns timeouts, and this one-shot timer is all it needs for them. setTimeout and clearTimeout are
 * web-platform globals, so this stays browser-safe; tests drive it with fake timers.
 */
import { ErrorCode, LocalProtocolError } from '../errors.js';

/** Largest delay setTimeout accepts (2^31 - 1 ms, about 24.8 days); anything longer means "never". */
const MAX_DELAY = 2_147_483_647;

/** A one-shot timer that can be started, restarted and stopped; `ms` of 0 (or Infinity) disables it. */
export class Watchdog {
  readonly #ms: number;
  readonly #onExpire: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number, onExpire: () => void) {
    if (!(ms >= 0)) throw new LocalProtocolError(ErrorCode.BadArgument, `a timeout must be a number of milliseconds >= 0, not ${String(ms)}`);
    this.#ms = ms > MAX_DELAY ? 0 : ms;
    this.#onExpire = onExpire;
  }

  /** Start counting, unless already counting. */
  start(): void {
    if (this.#timer === undefined && this.#ms > 0) this.#timer = setTimeout(this.#fire, this.#ms);
  }

  /** Count again from zero. */
  restart(): void {
    this.stop();
    this.start();
  }

  stop(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#onExpire();
  };
}
