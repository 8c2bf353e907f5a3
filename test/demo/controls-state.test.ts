/**
 * The state diagram's logic (demo/page/state-model.ts): which box each session state lights, the sentence
 * saying the same, and the record of commands in flight that shows pipelining, also on a real session.
 */
import { describe, expect, it } from 'vitest';
import type { SessionState } from '../../core/client-engine.js';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { OfflineServer } from '../../demo/page/offline-server.js';
import { DemoSession, type TranscriptEntry } from '../../demo/page/session.js';
import { DIAGRAM_EDGES, DIAGRAM_NODES, FlightRecorder, nodeOf, SUMMARY_KEYS, summaryKey } from '../../demo/page/state-model.js';

describe('the diagram', () => {
  it('lights one box per session state', () => {
    const lit = (state: SessionState) => nodeOf({ kind: 'session', state, lost: false });
    expect(lit('connecting')).toBe('connecting');
    expect(lit('authorization')).toBe('authorization');
    expect(lit('starttls')).toBe('authorization');
    expect(lit('transaction')).toBe('transaction');
    expect(lit('update')).toBe('update');
    expect(lit('closed')).toBe('closed');
    expect(lit('failed')).toBe('closed');
    expect(nodeOf({ kind: 'idle' })).toBeUndefined();
    expect(nodeOf({ kind: 'connect-failed' })).toBeUndefined();
    expect(nodeOf({ kind: 'connecting' })).toBe('connecting');
  });

  it('says where the session is in words', () => {
    expect(summaryKey({ kind: 'idle' })).toBe('state.summary.idle');
    expect(summaryKey({ kind: 'connecting' })).toBe('state.summary.connecting');
    expect(summaryKey({ kind: 'connect-failed' })).toBe('state.summary.connectFailed');
    expect(summaryKey({ kind: 'session', state: 'transaction', lost: false })).toBe('state.summary.transaction');
    expect(summaryKey({ kind: 'session', state: 'closed', lost: false })).toBe('state.summary.closed');
    expect(summaryKey({ kind: 'session', state: 'closed', lost: true })).toBe('state.summary.lost');
    expect(summaryKey({ kind: 'session', state: 'failed', lost: true })).toBe('state.summary.failed');
    const states: SessionState[] = ['connecting', 'authorization', 'starttls', 'transaction', 'update', 'closed', 'failed'];
    for (const state of states) expect(SUMMARY_KEYS).toContain(summaryKey({ kind: 'session', state, lost: false }));
  });

  it('joins the boxes with arrows named by what moves the session on', () => {
    expect(DIAGRAM_NODES).toEqual(['connecting', 'authorization', 'transaction', 'update', 'closed']);
    expect(DIAGRAM_EDGES.map((edge) => `${edge.from}>${edge.to}`)).toEqual([
      'connecting>authorization',
      'authorization>transaction',
      'authorization>closed',
      'transaction>update',
      'update>closed',
    ]);
  });
});

describe('commands in flight', () => {
  const command = (index: number, handle: number, text: string, inFlight: number): TranscriptEntry => ({ index, from: 'client', kind: 'command', text, handle, inFlight });

  it('keeps a burst until a command is sent while nothing is unanswered', () => {
    const recorder = new FlightRecorder();
    expect(recorder.snapshot).toEqual({ items: [], peak: 0, inFlight: 0, queued: 0 });
    recorder.entry(command(0, 1, 'LIST', 1));
    recorder.counts(1, 1);
    recorder.entry(command(1, 2, 'UIDL', 2));
    recorder.counts(2, 3);
    expect(recorder.snapshot).toMatchObject({ peak: 2, inFlight: 2, queued: 1 });
    recorder.outcome(1, true);
    recorder.outcome(2, false);
    recorder.outcome(undefined, false);
    recorder.counts(0, 0);
    expect(recorder.snapshot.items.map((item) => `${item.text}:${item.result}`)).toEqual(['LIST:ok', 'UIDL:error']);
    expect(recorder.snapshot.peak).toBe(2);
    // The next command starts a new burst.
    recorder.entry(command(2, 3, 'STAT', 1));
    expect(recorder.snapshot.items.map((item) => item.text)).toEqual(['STAT']);
    expect(recorder.snapshot.peak).toBe(1);
    // Server lines, SASL responses and local notes are not commands.
    recorder.entry({ index: 3, from: 'server', kind: 'status', text: '+OK' });
    recorder.entry({ index: 4, from: 'client', kind: 'sasl-response', text: 'xyz', handle: 3 });
    expect(recorder.snapshot.items).toHaveLength(1);
    recorder.reset();
    expect(recorder.snapshot).toEqual({ items: [], peak: 0, inFlight: 0, queued: 0 });
  });

  it('sees LIST and UIDL pipelined on a real session once PIPELINING is known', async () => {
    const session = await DemoSession.open({ kind: 'offline', server: new OfflineServer(readSampleMailbox()), seed: 5 });
    const recorder = new FlightRecorder();
    session.subscribe((event) => {
      if (event.type === 'entry') recorder.entry(event.entry);
      if (event.type === 'outcome') recorder.outcome(event.outcome.handle?.id, event.outcome.ok);
      if (event.type === 'in-flight') recorder.counts(event.inFlight, event.pending);
    });
    try {
      await session.send({ verb: 'USER', name: 'demo' });
      await session.send({ verb: 'PASS', password: 'demo' });
      // Without CAPA the engine does not know PIPELINING: one at a time, the second one queued.
      const slow = session.sendAll([{ verb: 'STAT' }, { verb: 'NOOP' }]);
      expect(recorder.snapshot).toMatchObject({ inFlight: 1, queued: 1 });
      await slow;
      expect(recorder.snapshot.peak).toBe(1);
      await session.send({ verb: 'CAPA' });
      await session.sendAll([{ verb: 'LIST' }, { verb: 'UIDL' }]);
      expect(recorder.snapshot.items.map((item) => `${item.text}:${item.result}`)).toEqual(['LIST:ok', 'UIDL:ok']);
      expect(recorder.snapshot.peak).toBe(2);
    } finally {
      session.close();
    }
  });
});
