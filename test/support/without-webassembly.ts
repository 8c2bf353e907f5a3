import { vi } from 'vitest';

/**
 * The body-reading modules loaded afresh, with the global `WebAssembly` as given while they first search:
 * undefined for a runtime without it, or one that refuses to compile, as under a Content Security Policy
 * without 'wasm-unsafe-eval'. They then read bodies the way such a runtime does.
 */
export async function loadBodyReadingWith(webAssembly: unknown) {
  vi.stubGlobal('WebAssembly', webAssembly);
  vi.resetModules();
  const framer = await import('../../core/framer.js');
  const search = await import('../../core/dot-line-search.js');
  const simd = await import('../../core/simd-dot-line-search.js');
  simd.simdDotLineFinder(new Uint8Array(1)); // WebAssembly is compiled (or found missing) at the first search
  vi.unstubAllGlobals();
  vi.resetModules();
  return { ...framer, ...search, ...simd };
}

/** A `WebAssembly` whose compiling throws, as a Content Security Policy makes it. */
export const forbiddenWebAssembly = {
  Module: class {
    constructor() {
      throw new Error('Refused to compile or instantiate WebAssembly module');
    }
  },
  Instance: class {},
};
