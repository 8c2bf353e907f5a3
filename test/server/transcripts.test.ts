/**
 * Every server transcript in test/fixtures/server-transcripts/, replayed against Pop3ServerEngine: the
 * C: lines are fed in one chunk, split at every point, byte by byte and in random slicings, and the server
 * must answer exactly the S: lines every time (see test/support/server-transcript.ts for the directives).
 * New fixture files are picked up without touching this file.
 */
import { describe, expect, it } from 'vitest';
import { replayServerEverySplit } from '../support/server-transcript.js';
import { findTranscripts } from '../support/transcript.js';

const FIXTURES = findTranscripts(new URL('../fixtures/server-transcripts/', import.meta.url));

describe('server transcripts', () => {
  it('are all there', () => {
    expect(FIXTURES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(FIXTURES.map((file) => [file.name, file.transcript] as const))('%s', (_, transcript) => {
    replayServerEverySplit(transcript);
  });
});
