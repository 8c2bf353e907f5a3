// The Maildir MailStore (core/node/maildir.ts) and its lock (core/node/maildir-lock.ts), without a server.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSafeMailboxName, MaildirStore, uidOf } from '../../core/node/maildir.js';
import { LOCK_FILE } from '../../core/node/maildir-lock.js';
import type { Mailbox } from '../../core/server/mailbox.js';
import { sampleFileNames, sampleMessages, tempDir, writeSampleMaildirs } from '../support/sample-maildir.js';

let root: string;
let remove: () => void;
beforeEach(() => ({ dir: root, remove } = tempDir('maildir')));
afterEach(() => remove());

const store = (options: { staleLockMs?: number } = {}) =>
  new MaildirStore({ root, password: (user) => (user === 'alice' ? 'pw' : undefined), ...options });

/** Opens a mailbox that must not be in use. */
async function open(s: MaildirStore, user = 'alice'): Promise<Mailbox> {
  const mailbox = await s.open(user);
  if (mailbox === 'in-use') throw new Error('mailbox in use');
  return mailbox;
}

async function read(mailbox: Mailbox, uid: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of mailbox.read(uid)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Writes a message file into the user's Maildir (`sub` is `new` or `cur`). */
function deliver(sub: 'new' | 'cur', name: string, content: string | Buffer, user = 'alice'): void {
  mkdirSync(path.join(root, user, sub), { recursive: true });
  writeFileSync(path.join(root, user, sub, name), content);
}

const cur = (user = 'alice') => readdirSync(path.join(root, user, 'cur')).sort();

describe('MaildirStore: messages', () => {
  it('serves the sample mailbox in delivery order, each message as CRLF text of its listed size', async () => {
    writeSampleMaildirs(root, { alice: 'pw' });
    const mailbox = await open(store());
    const expected = sampleMessages();
    expect(mailbox.messages.map((m) => m.uid)).toEqual(sampleFileNames().map((name) => name.split(':')[0]));
    for (const [i, message] of mailbox.messages.entries()) {
      const body = await read(mailbox, message.uid);
      expect(body.equals(expected[i]!)).toBe(true);
      expect(message.size).toBe(body.length);
    }
    await mailbox.close();
  });

  it('moves new/ to cur/, keeping the unique name and adding :2, info', async () => {
    deliver('new', '1700000100.M1P9.host', 'Subject: fresh\n\nhello\n');
    deliver('cur', '1700000050.M1P8.host:2,S', 'Subject: old\n\nseen\n');
    const mailbox = await open(store());
    expect(readdirSync(path.join(root, 'alice', 'new'))).toEqual([]);
    expect(cur()).toEqual(['1700000050.M1P8.host:2,S', '1700000100.M1P9.host:2,']);
    expect(mailbox.messages.map((m) => m.uid)).toEqual(['1700000050.M1P8.host', '1700000100.M1P9.host']);
    await mailbox.close();
  });

  it('keeps UIDs across sessions, store restarts and flag changes, and finds a renamed file', async () => {
    deliver('new', '1700000001.A.host', 'one\n');
    deliver('new', '1700000002.B.host', 'two\n');
    const first = await open(store());
    const uids = first.messages.map((m) => m.uid);
    await first.close();

    // Another reader sets flags on a message: the file name changes, its base does not.
    renameSync(path.join(root, 'alice', 'cur', '1700000001.A.host:2,'), path.join(root, 'alice', 'cur', '1700000001.A.host:2,RS'));
    const second = await open(store()); // a new store stands for a server restart
    expect(second.messages.map((m) => m.uid)).toEqual(uids);
    // And again while this session is open.
    renameSync(path.join(root, 'alice', 'cur', '1700000002.B.host:2,'), path.join(root, 'alice', 'cur', '1700000002.B.host:2,T'));
    expect((await read(second, uids[1]!)).toString()).toBe('two\r\n');
    await second.delete([uids[1]!]);
    expect(cur()).toEqual(['1700000001.A.host:2,RS']);
    await second.close();
  });

  it('replaces a base that is not a valid UIDL with a hash that no base can equal', async () => {
    const long = `1700000001.${'x'.repeat(80)}`;
    deliver('cur', `${long}:2,`, 'long\n');
    deliver('cur', '1700000002.with space:2,', 'space\n');
    deliver('cur', '1700000003.caf\u00e9:2,', 'non-ASCII\n');
    const mailbox = await open(store());
    const uids = mailbox.messages.map((m) => m.uid);
    expect(uids).toEqual([uidOf(long), uidOf('1700000002.with space'), uidOf('1700000003.caf\u00e9')]);
    for (const uid of uids) expect(uid).toMatch(/^sha256:[0-9a-f]{60}$/);
    expect(new Set(uids).size).toBe(3);
    expect(uidOf('1700000001.M1P1.host,S=1234')).toBe('1700000001.M1P1.host,S=1234');
    await mailbox.close();
  });

  it('gives two files with one base (a damaged Maildir) distinct UIDs', async () => {
    deliver('cur', '1700000001.same:2,S', 'a\n');
    deliver('cur', '1700000001.same:2,T', 'b\n');
    const mailbox = await open(store());
    const [a, b] = mailbox.messages.map((m) => m.uid);
    expect(a).not.toBe(b);
    expect((await read(mailbox, a!)).toString() + (await read(mailbox, b!)).toString()).toBe('a\r\nb\r\n');
    await mailbox.close();
  });

  it('measures and sends CRLF files unchanged, bare LF and CR converted, and adds a missing final line end', async () => {
    deliver('cur', '1700000001.crlf:2,', 'A: b\r\n\r\nbody\r\n');
    deliver('cur', '1700000002.lf:2,', 'A: b\n\nbody\n');
    deliver('cur', '1700000003.unterminated:2,', 'A: b\n\nno final newline');
    deliver('cur', '1700000004.empty:2,', '');
    deliver('cur', '1700000005.bare-cr:2,', 'A: b\n\nold\rMac\n');
    const mailbox = await open(store());
    const bodies = await Promise.all(mailbox.messages.map((m) => read(mailbox, m.uid)));
    expect(bodies.map(String)).toEqual([
      'A: b\r\n\r\nbody\r\n',
      'A: b\r\n\r\nbody\r\n',
      'A: b\r\n\r\nno final newline\r\n',
      '',
      'A: b\r\n\r\nold\r\nMac\r\n',
    ]);
    expect(mailbox.messages.map((m) => m.size)).toEqual(bodies.map((b) => b.length));
    await mailbox.close();
  });

  it('streams a large message in bounded pieces', async () => {
    const line = `${'0123456789'.repeat(7)}\n`;
    deliver('cur', '1700000001.big:2,', line.repeat(40_000)); // 2.8 MB
    const mailbox = await open(store());
    let total = 0;
    let largest = 0;
    for await (const chunk of mailbox.read(mailbox.messages[0]!.uid)) {
      total += chunk.length;
      largest = Math.max(largest, chunk.length);
    }
    expect(total).toBe(mailbox.messages[0]!.size);
    expect(total).toBe(72 * 40_000);
    expect(largest).toBeLessThanOrEqual(70 * 1024); // 64 KiB read, plus one CR per line
    await mailbox.close();
  });

  it('notices a changed file at the next open (the size cache checks mtime and size)', async () => {
    deliver('cur', '1700000001.x:2,', 'short\n');
    const s = store();
    const first = await open(s);
    expect(first.messages[0]!.size).toBe(7);
    await first.close();
    deliver('cur', '1700000001.x:2,', 'a bit longer\n');
    utimesSync(path.join(root, 'alice', 'cur', '1700000001.x:2,'), new Date(), new Date(Date.now() + 5000));
    const second = await open(s);
    expect(second.messages[0]!.size).toBe(14);
    await second.close();
  });

  it('ignores dot files, folders, symbolic links and the lock file', async () => {
    deliver('cur', '1700000001.x:2,', 'x\n');
    deliver('cur', '.hidden', 'not a message\n');
    mkdirSync(path.join(root, 'alice', 'cur', '1700000002.folder'));
    writeFileSync(path.join(root, 'secret'), 'not for alice\n');
    symlinkSync(path.join(root, 'secret'), path.join(root, 'alice', 'cur', '1700000003.link:2,'));
    const mailbox = await open(store());
    expect(mailbox.messages.map((m) => m.uid)).toEqual(['1700000001.x']);
    await mailbox.close();
  });

  it('refuses to read through a symbolic link swapped in after the listing', async () => {
    deliver('cur', '1700000001.x:2,', 'x\n');
    writeFileSync(path.join(root, 'secret'), 'not for alice\n');
    const mailbox = await open(store());
    unlinkSync(path.join(root, 'alice', 'cur', '1700000001.x:2,'));
    symlinkSync(path.join(root, 'secret'), path.join(root, 'alice', 'cur', '1700000001.x:2,'));
    await expect(read(mailbox, '1700000001.x')).rejects.toThrow(/ELOOP/);
    await mailbox.close();
  });

  it('creates a missing Maildir', async () => {
    const mailbox = await open(store());
    expect(mailbox.messages).toEqual([]);
    for (const sub of ['cur', 'new', 'tmp']) expect(existsSync(path.join(root, 'alice', sub))).toBe(true);
    await mailbox.close();
  });
});

describe('MaildirStore: deletion', () => {
  it('removes exactly the given messages, and only when asked', async () => {
    writeSampleMaildirs(root, { alice: 'pw' });
    const mailbox = await open(store());
    const [first, , third] = mailbox.messages.map((m) => m.uid);
    expect(cur()).toHaveLength(sampleFileNames().length);
    await mailbox.delete([first!, third!]);
    expect(cur()).toEqual(sampleFileNames().filter((_, i) => i !== 0 && i !== 2).sort());
    await mailbox.close();
  });

  it('treats a message someone else removed as deleted', async () => {
    deliver('cur', '1700000001.x:2,', 'x\n');
    const mailbox = await open(store());
    readdirSync(path.join(root, 'alice', 'cur')).forEach((name) => renameSync(path.join(root, 'alice', 'cur', name), path.join(root, name)));
    await expect(mailbox.delete(['1700000001.x'])).resolves.toBeUndefined();
    await mailbox.close();
  });
});

describe('MaildirStore: locking', () => {
  const lockFile = () => path.join(root, 'alice', LOCK_FILE);

  it('answers in-use while a session holds the mailbox, and frees it on close', async () => {
    const s = store();
    const first = await open(s);
    expect(readFileSync(lockFile(), 'utf8')).toMatch(new RegExp(`^${process.pid} ${hostname()} [0-9a-f]+\\n$`));
    expect(await s.open('alice')).toBe('in-use');
    expect(await store().open('alice')).toBe('in-use'); // another store: the lock file stands in for another process
    await first.close();
    expect(existsSync(lockFile())).toBe(false);
    await (await open(s)).close();
  });

  it('lets only one of many simultaneous opens win', async () => {
    const s = store();
    const results = await Promise.all(Array.from({ length: 10 }, () => s.open('alice')));
    const opened = results.filter((r): r is Mailbox => r !== 'in-use');
    expect(opened).toHaveLength(1);
    await opened[0]!.close();
  });

  it('breaks a lock whose process on this host is gone', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    mkdirSync(path.join(root, 'alice'), { recursive: true });
    writeFileSync(lockFile(), `${dead} ${hostname()} abc\n`);
    const mailbox = await open(store());
    expect(readFileSync(lockFile(), 'utf8')).toContain(`${process.pid} `);
    await mailbox.close();
    expect(readdirSync(path.join(root, 'alice'))).toEqual(['cur', 'new', 'tmp']); // nothing set aside is left
  });

  it('breaks a lock naming this process that no session of it holds (a restarted server with the same pid)', async () => {
    mkdirSync(path.join(root, 'alice'), { recursive: true });
    writeFileSync(lockFile(), `${process.pid} ${hostname()} old\n`);
    await (await open(store())).close();
  });

  it('respects a live process on this host', async () => {
    mkdirSync(path.join(root, 'alice'), { recursive: true });
    writeFileSync(lockFile(), `${process.ppid} ${hostname()} abc\n`);
    expect(await store().open('alice')).toBe('in-use');
    expect(readFileSync(lockFile(), 'utf8')).toBe(`${process.ppid} ${hostname()} abc\n`);
  });

  it('breaks a lock from another host, or an unreadable one, only once it is older than staleLockMs', async () => {
    mkdirSync(path.join(root, 'alice'), { recursive: true });
    for (const content of ['123 other-host.example abc\n', 'garbage']) {
      writeFileSync(lockFile(), content);
      expect(await store({ staleLockMs: 60_000 }).open('alice')).toBe('in-use');
      const old = new Date(Date.now() - 120_000);
      utimesSync(lockFile(), old, old);
      await (await open(store({ staleLockMs: 60_000 }))).close();
    }
  });

  it('does not remove a lock that another server took over', async () => {
    const mailbox = await open(store());
    writeFileSync(lockFile(), '123 other-host.example theirs\n');
    await mailbox.close();
    expect(readFileSync(lockFile(), 'utf8')).toBe('123 other-host.example theirs\n');
  });
});

describe('MaildirStore: user names', () => {
  it.each(['..', '../alice', 'a/b', '.hidden', 'a\0b', 'a\\b', 'a..b', '', 'tab\there', 'x'.repeat(256)])(
    'rejects %j for login and for opening',
    async (name) => {
      mkdirSync(path.join(root, 'x'));
      const s = new MaildirStore({ root: path.join(root, 'x'), password: () => 'pw' });
      expect(isSafeMailboxName(name)).toBe(false);
      expect(await s.password(name)).toBeUndefined();
      await expect(s.open(name)).rejects.toThrow('not a valid mailbox name');
      expect(readdirSync(root)).toEqual(['x']); // nothing created outside DIR
    },
  );

  it.each(['alice', 'bob.smith', 'user@example.org', 'J\u00fcrgen', 'a-b_c+d'])('accepts %j', (name) => {
    expect(isSafeMailboxName(name)).toBe(true);
  });

  it('looks passwords up through the given function', async () => {
    expect(await store().password('alice')).toBe('pw');
    expect(await store().password('bob')).toBeUndefined();
  });
});
