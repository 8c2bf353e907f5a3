/**
 * Bodies collected into memory of their own (core/client/body-collector.ts): sized from the server's octet
 * count, small ones carved from a shared arena, grown when the count is missing or wrong, trimmed when it
 * was too large; and, through a client whose transport lends and then ruins its chunks, intact whatever the
 * chunking.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BodyCollector } from '../../core/client/body-collector.js';
import { flush, latin1, sessionOver, text } from '../support/fake-server.js';
import { ScribblingTransport } from '../support/scribbling-transport.js';

/** Collect `pieces` as one body announced as `announced` octets. */
function collect(collector: BodyCollector, announced: number | undefined, ...pieces: string[]): Uint8Array {
  collector.begin(announced);
  for (const piece of pieces) collector.add(latin1(piece));
  return collector.take();
}

/** A body of `size` octets whose lines are numbered, some starting with a dot. */
const bodyOf = (size: number, seed: number): string => {
  let out = '';
  for (let i = 0; out.length < size; i++) out += `${(i + seed) % 7 === 0 ? '.' : ''}${seed}:${i} lorem\r\n`;
  return out.slice(0, size - 2).replace(/\r?$/, '') + '\r\n';
};
const stuffed = (body: string): string => body.replace(/^\./gm, '..');

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

describe('BodyCollector with reuse', () => {
  it('carves an arena again once every body from it was given back, and never a body still held', () => {
    const collector = new BodyCollector({ reuse: true });
    const size = 200 * 1024; // five per 1 MiB arena
    const held = collect(collector, size, 'h'.repeat(size));
    const given: Uint8Array[] = [];
    for (let i = 0; i < 12; i++) given.push(collect(collector, size, String.fromCharCode(97 + i).repeat(size)));
    given.forEach((body) => collector.release(body));
    // The first arena still holds `held`; the second one, all given back, is carved again.
    const later = Array.from({ length: 10 }, (_, i) => collect(collector, size, String.fromCharCode(65 + i).repeat(size)));
    expect(text(held)).toBe('h'.repeat(size));
    later.forEach((body, i) => expect(text(body)).toBe(String.fromCharCode(65 + i).repeat(size)));
    const reused = later.filter((body) => given.some((old) => old.buffer === body.buffer));
    expect(reused.length).toBeGreaterThan(0);
    expect(later.some((body) => body.buffer === held.buffer && body.byteOffset < held.byteOffset + held.length)).toBe(false);
  });

  it('leaves large bodies, and bodies of unknown size that outgrow an arena, in memory of their own', () => {
    const collector = new BodyCollector({ reuse: true });
    const large = collect(collector, 300 * 1024, 'x'.repeat(300 * 1024));
    expect(large.buffer.byteLength).toBe(300 * 1024);
    collector.release(large); // nothing to give back: ignored
    const grown = collect(collector, undefined, 'y'.repeat(2 * 1024 * 1024));
    expect(text(grown)).toBe('y'.repeat(2 * 1024 * 1024));
    expect(text(large)).toBe('x'.repeat(300 * 1024));
  });
});

describe('retrieveMany with reuseBodies', () => {
  it('property: every handler sees its own body, whole, until it returns or its promise settles', async () => {
    const sizes = fc.array(fc.integer({ min: 2, max: 300_000 }), { minLength: 1, maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(sizes, fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), fc.integer({ min: 500, max: 70_000 }), async (lengths, async, chunk) => {
        const { client, server } = await sessionOver((inner) => new ScribblingTransport(inner));
        const bodies = lengths.map((length, i) => bodyOf(length, i));
        const seen: string[] = [];
        const done = client.retrieveMany(
          bodies.map((_, i) => i + 1),
          async ({ message, body }) => {
            // An asynchronous handler looks again after later messages may have arrived.
            if (async[message - 1]) await new Promise((resolve) => setTimeout(resolve, 1));
            seen.push(text(body));
          },
          { reuseBodies: true },
        );
        for (let i = 0; i < bodies.length; i++) await server.expect(`RETR ${i + 1}`);
        const wire = bodies.map((body) => `+OK ${body.length} octets\r\n${stuffed(body)}.\r\n`).join('');
        for (let at = 0; at < wire.length; at += chunk) await server.send(wire.slice(at, at + chunk));
        await done;
        expect(seen).toEqual(bodies);
        client.close();
      }),
      { numRuns: 40 },
    );
  });

  it('never writes into a body whose handler has not run yet, however much arrives meanwhile', async () => {
    const { client, server } = await sessionOver((inner) => new ScribblingTransport(inner));
    const bodies = Array.from({ length: 30 }, (_, i) => bodyOf(100 * 1024, i)); // 3 MB: three arenas
    let allSent!: () => void;
    const sent = new Promise<void>((resolve) => (allSent = resolve));
    const seen: string[] = [];
    const done = client.retrieveMany(
      bodies.map((_, i) => i + 1),
      async ({ message, body }) => {
        if (message === 1) await sent; // every other body arrives while this handler waits
        seen.push(text(body));
      },
      { reuseBodies: true },
    );
    for (let i = 0; i < bodies.length; i++) await server.expect(`RETR ${i + 1}`);
    for (const body of bodies) await server.send(`+OK ${body.length} octets\r\n${stuffed(body)}.\r\n`);
    await flush();
    allSent();
    await done;
    expect(seen).toEqual(bodies);
  });

  it('writes later bodies into the memory of earlier ones once their handlers are done', async () => {
    const { client, server } = await sessionOver((inner) => new ScribblingTransport(inner));
    const bodies = Array.from({ length: 200 }, (_, i) => bodyOf(20 * 1024, i));
    const buffers = new Set<ArrayBufferLike>();
    const done = client.retrieveMany(bodies.map((_, i) => i + 1), ({ body }) => void buffers.add(body.buffer), { reuseBodies: true, window: 10 });
    for (let i = 0; i < bodies.length; i++) {
      await server.expect(`RETR ${i + 1}`);
      await server.send(`+OK ${bodies[i]!.length} octets\r\n${stuffed(bodies[i]!)}.\r\n`);
    }
    await done;
    // 4 MB of bodies through a few 1 MiB arenas.
    expect(buffers.size).toBeLessThan(4);
  });
});

describe('bodies through a client reading transient chunks', () => {

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
