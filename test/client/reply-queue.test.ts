/**
 * ReplyQueue: Pop3Client's replies by command handle, fast when the oldest is taken (the engine's order) and
 * right in any order, checked against a Map doing the same.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CommandHandle } from '../../core/client-engine.js';
import { ReplyQueue } from '../../core/client/reply-queue.js';

const handle = (id: number): CommandHandle => ({ id, verb: 'NOOP', command: `NOOP ${id}` });

type Op = 'add' | { take: number } | { get: number } | 'takeAll';

describe('ReplyQueue', () => {
  it('behaves as a Map from handle to reply, in insertion order', () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.constant('add' as const) },
      // Mostly the oldest (index 0), as the engine does; sometimes any other, or one never added.
      { weight: 3, arbitrary: fc.constant({ take: 0 }) },
      { weight: 2, arbitrary: fc.nat({ max: 12 }).map((take) => ({ take })) },
      { weight: 1, arbitrary: fc.nat({ max: 12 }).map((get) => ({ get })) },
      { weight: 1, arbitrary: fc.constant('takeAll' as const) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 150 }), (ops) => {
        const queue = new ReplyQueue<string>();
        const model = new Map<CommandHandle, string>();
        const stranger = handle(-1);
        let id = 0;
        for (const step of ops) {
          if (step === 'add') {
            const h = handle(id++);
            queue.add(h, `reply ${h.id}`);
            model.set(h, `reply ${h.id}`);
          } else if (step === 'takeAll') {
            expect(queue.takeAll()).toEqual([...model.values()]);
            model.clear();
          } else {
            const index = 'take' in step ? step.take : step.get;
            const h = [...model.keys()][index] ?? stranger;
            if ('take' in step) {
              expect(queue.take(h)).toBe(model.get(h));
              model.delete(h);
            } else {
              expect(queue.get(h)).toBe(model.get(h));
            }
          }
          expect(queue.size).toBe(model.size);
          expect(queue.oldest()).toBe(model.keys().next().value);
        }
      }),
    );
  });
});
