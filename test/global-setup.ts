/**
 * vitest globalSetup of the `interop` project: one private Dovecot for the whole run (see
 * test/support/dovecot.ts), handed to the tests with `provide` (`inject('dovecot')` in a test).
 *
 * vitest runs a globalSetup once per project that lists it, so only the interop project does; the server
 * handle lives in this call and the returned teardown stops it, so nothing can leak into another run.
 */
import type { TestProject } from 'vitest/node';
import { startDovecot } from './support/dovecot.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dovecot = await startDovecot();
  project.provide('dovecot', dovecot.info);
  return () => dovecot.stop();
}
