/**
 * The async client's only use of time. The engine never sees a clock (DESIGN.md, "Deterministic"); the driver
 * owns timeouts, and this one-shot timer is all it needs for them. setTimeout and clearTimeout are
 * web-platform globals, so this stays browser-safe; tests drive it with fake timers.
 */
import { ErrorCode, LocalProtocolError } from '../errors.js';

/** Largest delay setTimeout accepts (2^31 - 1 ms, about 24.8 days); anything longer means "never". */
const MAX_DELAY = 2_147_483_647;

/**
 * A one-shot timer that can be started, kept alive by activity (touch) and stopped; `ms` of 0 (or Infinity)
 * disables it.
 *
 * touch() is called for every chunk a download receives, so it must be cheap, and clearing and re-arming a
 * timer each time is not (a timer object, and the runtime's timer list, per chunk). Without a clock the
 * remaining time cannot be computed, so instead: the first touch after the timer was armed re-arms it (which
 * keeps the common case exact: a reply that starts as soon as the command is sent), later ones only set a
 * flag, and a timer that fires with the flag set re-arms itself rather than expiring. So it expires after
 * between `ms` and `2 * ms` of silence, at the cost of at most two timers per `ms` of activity.
 */
export class Watchdog {
  readonly #ms: number;
  readonly #onExpire: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The timer was re-armed for a touch since it was last armed: further touches only set #touched. */
  #rearmed = false;
  /** Touched since the timer was last armed (and after #rearmed). */
  #touched = false;

  constructor(ms: number, onExpire: () => void) {
    if (!(ms >= 0)) throw new LocalProtocolError(ErrorCode.BadArgument, `a timeout must be a number of milliseconds >= 0, not ${String(ms)}`);
    this.#ms = ms > MAX_DELAY ? 0 : ms;
    this.#onExpire = onExpire;
  }

  /** Start counting, unless already counting. */
  start(): void {
    if (this.#timer === undefined && this.#ms > 0) this.#arm();
  }

  /** Activity: count again from zero (approximately, see above); starts the timer if it is stopped. */
  touch(): void {
    if (this.#timer === undefined) {
      this.start();
    } else if (!this.#rearmed) {
      clearTimeout(this.#timer);
      this.#arm();
      this.#rearmed = true;
    } else {
      this.#touched = true;
    }
  }

  stop(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    this.#rearmed = false;
    this.#touched = false;
    this.#timer = setTimeout(this.#fire, this.#ms);
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    if (this.#touched) this.#arm();
    else this.#onExpire();
  };
}
