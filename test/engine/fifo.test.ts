/** Fifo: the engines' queue of events and of commands, checked against a plain array doing the same. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fifo } from '../../core/fifo.js';

type Op = { push: number } | 'shift' | 'clear';

describe('Fifo', () => {
  it('behaves as an array pushed at the end and shifted at the front', () => {
    const op: fc.Arbitrary<Op> = fc.oneof({ weight: 3, arbitrary: fc.nat().map((push) => ({ push })) }, fc.constant('shift' as const), { weight: 1, arbitrary: fc.constant('clear' as const) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const fifo = new Fifo<number>();
        let model: number[] = [];
        for (const step of ops) {
          if (step === 'shift') expect(fifo.shift()).toBe(model.shift());
          else if (step === 'clear') {
            fifo.clear();
            model = [];
          } else {
            fifo.push(step.push);
            model.push(step.push);
          }
          expect(fifo.length).toBe(model.length);
          expect(fifo.first()).toBe(model[0]);
          expect(fifo.last()).toBe(model.at(-1));
          expect(fifo.toArray()).toEqual(model);
        }
      }),
    );
  });

  it('keeps its order in a queue that never empties, through every trim of the items taken', () => {
    // Runs of pushes and shifts thousands long, so the taken items are cut off the array again and again.
    const run = fc.record({ push: fc.nat({ max: 3000 }), shift: fc.nat({ max: 3000 }) });
    fc.assert(
      fc.property(fc.array(run, { minLength: 1, maxLength: 12 }), (runs) => {
        const fifo = new Fifo<number>();
        const model: number[] = [];
        let next = 0;
        let taken = 0;
        for (const { push, shift } of runs) {
          for (let i = 0; i < push; i++) {
            fifo.push(next);
            model.push(next++);
          }
          for (let i = 0; i < shift && taken < model.length; i++) {
            if (fifo.shift() !== model[taken]) throw new Error(`shift ${taken} out of order`);
            taken++;
          }
          expect(fifo.length).toBe(model.length - taken);
          expect(fifo.first()).toBe(model[taken]);
          expect(fifo.last()).toBe(taken < model.length ? model.at(-1) : undefined);
          expect(fifo.toArray()).toEqual(model.slice(taken));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('gives undefined when empty', () => {
    const fifo = new Fifo<string>();
    expect([fifo.shift(), fifo.first(), fifo.last(), fifo.length]).toEqual([undefined, undefined, undefined, 0]);
    fifo.push('a');
    expect(fifo.shift()).toBe('a');
    expect([fifo.shift(), fifo.first(), fifo.last(), fifo.length]).toEqual([undefined, undefined, undefined, 0]);
  });
});
