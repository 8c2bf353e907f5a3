/** The in-memory MailStore: CRLF storage, stable UIDs, locking, snapshots per session, deletion only by delete(). */
import { describe, expect, it } from 'vitest';
import { LocalProtocolError } from '../../core/errors.js';
import { type MemoryMailbox, MemoryMailStore } from '../../core/server/memory-mailbox.js';
import { byteString, concatBytes } from '../support/transcript.js';

function store(): MemoryMailStore {
  const mail = new MemoryMailStore({ chunkSize: 4 });
  mail.addUser('alice', 'alice-pw');
  return mail;
}

function opened(mail: MemoryMailStore, user = 'alice'): MemoryMailbox {
  const mailbox = mail.lock(user);
  if (mailbox === 'in-use') throw new Error('locked');
  return mailbox;
}

describe('MemoryMailStore', () => {
  it('stores messages with CRLF line ends and a final CRLF, so the size is what RETR sends', () => {
    const mail = store();
    mail.deliver('alice', 'a\nb\rc');
    mail.deliver('alice', new Uint8Array([0x78, 0x0d, 0x0a]));
    mail.deliver('alice', '');
    mail.deliver('alice', 'ü');
    expect(mail.messages('alice')!.map((message) => [byteString(message.content), message.size])).toEqual([
      ['a\r\nb\r\nc\r\n', 9],
      ['x\r\n', 3],
      ['', 0],
      ['\xc3\xbc\r\n', 4],
    ]);
  });

  it('gives fresh UIDs that are never reused, or the one asked for', () => {
    const mail = store();
    mail.addUser('bob', 'bob-pw');
    const first = mail.deliver('alice', 'x');
    const second = mail.deliver('bob', 'x');
    expect(first).not.toBe(second);
    opened(mail).deleteNow([first]);
    expect(mail.deliver('alice', 'y')).not.toBe(first);
    expect(mail.deliver('alice', 'z', 'my-uid')).toBe('my-uid');
    expect(() => mail.deliver('alice', 'z', 'my-uid')).toThrow(LocalProtocolError);
    expect(() => mail.deliver('alice', 'z', 'has space')).toThrow(LocalProtocolError);
    expect(() => mail.deliver('nobody', 'z')).toThrow(LocalProtocolError);
  });

  it('looks up passwords, and lets them change', async () => {
    const mail = store();
    expect(await mail.password('alice')).toBe('alice-pw');
    expect(await mail.password('nobody')).toBeUndefined();
    mail.addUser('alice', 'new-pw');
    expect(mail.passwordOf('alice')).toBe('new-pw');
  });

  it('locks a mailbox for one session at a time', async () => {
    const mail = store();
    const first = await mail.open('alice');
    expect(first).not.toBe('in-use');
    expect(mail.isLocked('alice')).toBe(true);
    expect(await mail.open('alice')).toBe('in-use');
    await (first as MemoryMailbox).close();
    await (first as MemoryMailbox).close(); // a second close does nothing
    expect(mail.isLocked('alice')).toBe(false);
    expect(mail.lock('alice')).not.toBe('in-use');
  });

  it('shows each session the messages as they were when it opened', () => {
    const mail = store();
    mail.deliver('alice', 'one', 'u1');
    const session = opened(mail);
    mail.deliver('alice', 'two', 'u2');
    expect(session.messages.map((message) => message.uid)).toEqual(['u1']);
    session.closeNow();
    expect(opened(mail).messages.map((message) => message.uid)).toEqual(['u1', 'u2']);
  });

  it('streams a message in pieces of chunkSize', async () => {
    const mail = store();
    const uid = mail.deliver('alice', 'hello world');
    const pieces: Uint8Array[] = [];
    for await (const piece of opened(mail).read(uid)) pieces.push(piece);
    expect(pieces.map((piece) => piece.length)).toEqual([4, 4, 4, 1]);
    expect(byteString(concatBytes(pieces))).toBe('hello world\r\n');
  });

  it('deletes only through delete(), only the UIDs given, and not after close', async () => {
    const mail = store();
    for (const uid of ['u1', 'u2', 'u3']) mail.deliver('alice', uid, uid);
    const session = opened(mail);
    await session.delete(['u1', 'u3', 'unknown']);
    expect(mail.messages('alice')!.map((message) => message.uid)).toEqual(['u2']);
    await session.close();
    expect(() => session.deleteNow(['u2'])).toThrow(LocalProtocolError);
  });

  it('rejects a nonsense chunk size', () => {
    expect(() => new MemoryMailStore({ chunkSize: 0 })).toThrow(LocalProtocolError);
  });
});
