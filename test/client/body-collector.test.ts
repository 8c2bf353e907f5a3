/**
 * Bodies collected into memory of their own (core/client/body-collector.ts): sized from the server's octet
 * count, small ones carved from a shared arena, grown when the count is missing or wrong, trimmed when it
 * was too large; and, through a client whose transport lends and then ruins its chunks, intact whatever the
 * chunking.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BodyCollector } from '../../core/client/body-collector.js';
import { latin1, sessionOver, text } from '../support/fake-server.js';
import { ScribblingTransport } from '../support/scribbling-transport.js';

/** Collect `pieces` as one body announced as `announced` octets. */
function collect(collector: BodyCollector, announced: number | undefined, ...pieces: string[]): Uint8Array {
  collector.begin(announced);
  for (const piece of pieces) collector.add(latin1(piece));
  return collector.take();
}

describe('BodyCollector', () => {
  it('carves small bodies one after the other out of one arena, copying every piece', () => {
    const collector = new BodyCollector();
    const piece = latin1('hello\r\n');
    collector.begin(12);
    collector.add(piece);
    piece.fill(0); // the piece was copied: the caller may reuse its memory at once
    collector.add(latin1('bye\r\n'));
    const first = collector.take();
    const second = collect(collector, 3, 'abc');
    expect(text(first)).toBe('hello\r\nbye\r\n');
    expect(text(second)).toBe('abc');
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteOffset).toBe(first.byteOffset + first.length);
    expect(first.buffer.byteLength).toBe(64 * 1024);
  });

  it('starts a new arena when the announced body does not fit, and never writes over a body handed out', () => {
    const collector = new BodyCollector();
    const bodies = Array.from({ length: 10 }, (_, i) => collect(collector, 10_000, String.fromCharCode(97 + i).repeat(10_000)));
    bodies.forEach((body, i) => expect(text(body)).toBe(String.fromCharCode(97 + i).repeat(10_000)));
    expect(new Set(bodies.map((body) => body.buffer)).size).toBe(2); // six bodies of 10,000 octets per 64 KiB
  });

  it('gives a large body memory of its own, of the announced size', () => {
    const collector = new BodyCollector();
    const body = collect(collector, 20_000, 'x'.repeat(12_000), 'y'.repeat(8_000));
    expect(body.length).toBe(20_000);
    expect(body.buffer.byteLength).toBe(20_000);
    expect(text(body.subarray(11_999, 12_001))).toBe('xy');
  });

  it('grows a body the server gave no count for, or too small a one', () => {
    const collector = new BodyCollector();
    const unannounced = collect(collector, undefined, ...Array.from({ length: 50 }, (_, i) => `${i}`.padEnd(3_000, '.')));
    expect(unannounced.length).toBe(150_000);
    expect(text(unannounced.subarray(147_000, 147_002))).toBe('49');
    const understated = collect(collector, 100, 'a'.repeat(70_000), 'b');
    expect(understated.length).toBe(70_001);
    expect(text(understated.subarray(69_999))).toBe('ab');
    // The arena is still usable after bodies that outgrew it.
    expect(text(collect(collector, 2, 'ok'))).toBe('ok');
  });

  it('does not keep memory a server made it reserve by announcing more than it sent', () => {
    const collector = new BodyCollector();
    const body = collect(collector, 50_000_000, 'short\r\n');
    expect(text(body)).toBe('short\r\n');
    expect(body.buffer.byteLength).toBe(7);
  });

  it('forgets a body that never ended (the session died mid-body) and goes on with the next', () => {
    const collector = new BodyCollector();
    const kept = collect(collector, 4, 'kept');
    collector.begin(100);
    collector.add(latin1('cut off in the mid'));
    const next = collect(collector, 4, 'next');
    expect(text(kept)).toBe('kept');
    expect(text(next)).toBe('next');
  });

  it('an empty body', () => {
    expect(collect(new BodyCollector(), 0).length).toBe(0);
    expect(collect(new BodyCollector(), undefined).length).toBe(0);
  });
});

describe('bodies through a client reading transient chunks', () => {
  /** A body of `size` octets whose lines are numbered, some starting with a dot. */
  const bodyOf = (size: number, seed: number): string => {
    let out = '';
    for (let i = 0; out.length < size; i++) out += `${(i + seed) % 7 === 0 ? '.' : ''}${seed}:${i} lorem\r\n`;
    return out.slice(0, size - 2).replace(/\r?$/, '') + '\r\n';
  };
  const stuffed = (body: string): string => body.replace(/^\./gm, '..');

  it('retr, top and retrieveMany hand out bodies that survive the reuse of every chunk they came in', async () => {
    const { client, server, transport } = await sessionOver((inner) => new ScribblingTransport(inner));
    const bodies = [bodyOf(40, 1), bodyOf(30_000, 2), bodyOf(5_000, 3)];
    const retr = client.retr(1);
    const top = client.top(2, 0);
    const kept: Uint8Array[] = [];
    const many = client.retrieveMany([2, 3], ({ body }) => void kept.push(body));
    await server.expect('RETR 1');
    await server.expect('TOP 2 0');
    // Announced right, announced wrong (too small), not announced; the wire cut into awkward pieces.
    const wire =
      `+OK ${bodies[0]!.length} octets\r\n${stuffed(bodies[0]!)}.\r\n` +
      `+OK\r\n${stuffed(bodies[2]!)}.\r\n`;
    for (let at = 0; at < wire.length; at += 7) await server.send(wire.slice(at, at + 7));
    await server.expect('RETR 2');
    await server.expect('RETR 3');
    const rest = `+OK 100 octets\r\n${stuffed(bodies[1]!)}.\r\n+OK ${bodies[2]!.length}\r\n${stuffed(bodies[2]!)}.\r\n`;
    for (let at = 0; at < rest.length; at += 1000) await server.send(rest.slice(at, at + 1000));
    expect(text(await retr)).toBe(bodies[0]);
    expect(text(await top)).toBe(bodies[2]);
    await many;
    expect(kept.map(text)).toEqual([bodies[1], bodies[2]]);
    expect(transport.transientReads).toBeGreaterThan(10);
  });

  it('property: any bodies, announced right, wrong or not at all, in any chunking, arrive intact', async () => {
    const announcement = fc.constantFrom('right' as const, 'none' as const, 'less' as const, 'more' as const);
    const message = fc.record({ size: fc.integer({ min: 2, max: 40_000 }), announced: announcement });
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 9_000 }), async (messages, chunk) => {
        const { client, server } = await sessionOver((inner) => new ScribblingTransport(inner));
        const bodies = messages.map((m, i) => bodyOf(m.size, i));
        // The bodies themselves are kept, and read only at the end: by then every chunk was scribbled over.
        const kept: Uint8Array[] = [];
        const done = client.retrieveMany(bodies.map((_, i) => i + 1), ({ body }) => void kept.push(body));
        let wire = '';
        bodies.forEach((body, i) => {
          const octets = { right: ` ${body.length} octets`, none: '', less: ` ${body.length >> 2} octets`, more: ` ${body.length * 3} octets` }[messages[i]!.announced];
          wire += `+OK${octets}\r\n${stuffed(body)}.\r\n`;
        });
        for (let i = 0; i < bodies.length; i++) await server.expect(`RETR ${i + 1}`);
        for (let at = 0; at < wire.length; at += chunk) await server.send(wire.slice(at, at + chunk));
        await done;
        expect(kept.map(text)).toEqual(bodies);
        client.close();
      }),
      { numRuns: 60 },
    );
  });
});
