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

  it('stays right in a queue that never drains, through every trim of the entries taken', () => {
    // Thousands held and taken oldest first, as a batch refilling its window does, with now and then one
    // taken out of order: the entries taken are cut off the arrays again and again.
    const run = fc.record({ add: fc.nat({ max: 3000 }), take: fc.nat({ max: 3000 }), outOfOrder: fc.nat({ max: 5 }) });
    fc.assert(
      fc.property(fc.array(run, { minLength: 1, maxLength: 10 }), (runs) => {
        const queue = new ReplyQueue<number>();
        const model = new Map<CommandHandle, number>();
        let id = 0;
        for (const { add, take, outOfOrder } of runs) {
          for (let i = 0; i < add; i++) {
            const h = handle(id++);
            queue.add(h, h.id);
            model.set(h, h.id);
          }
          for (let i = 0; i < take && model.size > 0; i++) {
            const keys = model.keys();
            let h = keys.next().value!;
            // Every 500th, the entry `outOfOrder` places behind the oldest instead, when there is one.
            if (i % 500 === 499) for (let k = 0; k < outOfOrder; k++) h = keys.next().value ?? h;
            if (queue.take(h) !== model.get(h)) throw new Error(`take ${h.id} gave the wrong reply`);
            model.delete(h);
          }
          expect(queue.size).toBe(model.size);
          expect(queue.oldest()).toBe(model.keys().next().value);
          for (const [h, reply] of model) if (queue.get(h) !== reply) throw new Error(`get ${h.id} gave the wrong reply`);
        }
        expect(queue.takeAll()).toEqual([...model.values()]);
      }),
      { numRuns: 40 },
    );
  });
});
