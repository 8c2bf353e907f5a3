/** Small helpers for tests that drive the client engine by hand. */
import { type ClientEngineOptions, Pop3ClientEngine, type Pop3Event } from '../../core/client-engine.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Feed the engine server bytes, given as text. */
export function serve(engine: Pop3ClientEngine, text: string): void {
  engine.receive(encoder.encode(text));
}

/** Every event the engine has ready. */
export function drain(engine: Pop3ClientEngine): Pop3Event[] {
  const events: Pop3Event[] = [];
  for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) events.push(event);
  return events;
}

/** What the engine wants to send, as text, or undefined when nothing. */
export function written(engine: Pop3ClientEngine): string | undefined {
  const bytes = engine.takeOutgoing();
  return bytes === undefined ? undefined : decoder.decode(bytes);
}

/** A new engine that has had its greeting, with the greeting's events drained. */
export function greeted(options?: ClientEngineOptions, greeting = '+OK ready\r\n'): Pop3ClientEngine {
  const engine = new Pop3ClientEngine(options);
  serve(engine, greeting);
  drain(engine);
  return engine;
}

/** What `call` throws; fails the test when it returns instead. */
export function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}
