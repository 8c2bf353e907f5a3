/** Heap measurements for the tests that prove memory stays bounded. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A real gc() when V8 allows it (node --expose-gc, or turned on here), else undefined. */
export function exposeGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** The JS heap in use after a full collection, in bytes; throws when gc() cannot be had. */
export function heapAfterGc(): number {
  const gc = exposeGc();
  if (gc === undefined) throw new Error('gc() is not available: cannot measure the heap');
  gc();
  return process.memoryUsage().heapUsed;
}
