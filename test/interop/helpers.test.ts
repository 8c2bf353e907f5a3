/**
 * The "nothing lost" helpers end to end against a real Dovecot: downloadAndDelete hands every message over
 * and leaves the Maildir empty; a failing handler commits only what was stored; fetchNew fetches each
 * message once across sessions, including mail delivered between them, and deletes nothing.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { MemoryUidStore } from '../../core/index.js';
import { createUser, deliver, messagesOnDisk } from '../support/dovecot.js';
import { expectSameBytes, rejectionOf, Sessions, within } from '../support/interop.js';
import { edgeCaseMessages, expectedWireBody, numberedMessages, uidlOf } from '../support/mail-generator.js';

const dovecot = inject('dovecot');
const sessions = new Sessions(dovecot);
afterEach(() => sessions.closeAll());

describe('downloadAndDelete with Dovecot', () => {
  it('hands every message over, byte for byte, and leaves the Maildir empty', async () => {
    const messages = [...edgeCaseMessages(), ...numberedMessages(40)];
    const user = await createUser(dovecot, 'download', messages);
    const client = await sessions.loggedIn(user);
    const received = new Map<string, Uint8Array>();
    const result = await within(
      client.downloadAndDelete((message) => {
        expect(received.has(message.uid!), `${message.uid} handed over twice`).toBe(false);
        received.set(message.uid!, message.body);
      }),
      'downloadAndDelete',
    );
    expect(result).toEqual({ stored: messages.length, skipped: 0 });
    expect(client.state).toBe('closed');
    for (const stored of user.messages) {
      expectSameBytes(received.get(stored.uidl) ?? new Uint8Array(), expectedWireBody(messages[stored.number - 1]!.bytes), stored.name);
    }
    expect(await messagesOnDisk(user)).toEqual([]);
  });

  it('when the handler fails, commits the deletion of what was stored before it and keeps the rest', async () => {
    const user = await createUser(dovecot, 'download-fail', numberedMessages(10));
    const client = await sessions.loggedIn(user);
    const failure = new Error('disk full');
    const error = await rejectionOf(
      client.downloadAndDelete((message) => {
        if (message.message === 4) throw failure;
      }),
      'downloadAndDelete with a failing handler',
    );
    expect(error).toBe(failure);
    expect(await messagesOnDisk(user)).toEqual(user.messages.slice(3).map((m) => m.baseName).sort());
  });
});

describe('fetchNew with Dovecot', () => {
  it('fetches each message once across sessions, new deliveries included, and deletes nothing', async () => {
    const messages = numberedMessages(5);
    const user = await createUser(dovecot, 'fetch-new', messages);
    const store = new MemoryUidStore();
    const fetched: { uid: string; body: Uint8Array }[] = [];
    const session = async (): Promise<{ fetched: number; known: number; forgotten: number }> => {
      const client = await sessions.loggedIn(user);
      const result = await within(client.fetchNew(store, (message) => void fetched.push({ uid: message.uid!, body: message.body })), 'fetchNew');
      await within(client.quit(), 'QUIT');
      return result;
    };

    expect(await session()).toEqual({ fetched: 5, known: 0, forgotten: 0 });
    expect(await session()).toEqual({ fetched: 0, known: 5, forgotten: 0 });
    const later = numberedMessages(2, 7);
    const delivered = [await deliver(user, later[0]!), await deliver(user, later[1]!)];
    expect(await session()).toEqual({ fetched: 2, known: 5, forgotten: 0 });

    // Dovecot numbers the delivered messages after the others (UIDs 6 and 7, in the order it finds them).
    expect(fetched.slice(0, 5).map((f) => f.uid)).toEqual(user.messages.map((m) => m.uidl));
    expect(fetched.slice(5).map((f) => f.uid).sort()).toEqual([uidlOf(6), uidlOf(7)]);
    for (const [i, message] of messages.entries()) expectSameBytes(fetched[i]!.body, expectedWireBody(message.bytes), message.name);
    const laterBodies = fetched.slice(5).map((f) => Buffer.from(f.body).toString('latin1')).sort();
    expect(laterBodies).toEqual(later.map((m) => Buffer.from(expectedWireBody(m.bytes)).toString('latin1')).sort());
    expect(await messagesOnDisk(user)).toEqual([...user.messages.map((m) => m.baseName), ...delivered].sort());

    // Another client deletes the first message: the next session forgets its UID and keeps the others.
    const other = await sessions.loggedIn(user);
    await within(other.dele(1), 'DELE');
    await within(other.quit(), 'QUIT');
    expect(await session()).toEqual({ fetched: 0, known: 6, forgotten: 1 });
    expect([...store.values()].sort()).toEqual(fetched.slice(1).map((f) => f.uid).sort());
  });
});
