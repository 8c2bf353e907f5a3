// A minimal, fast POP3 server for the download bench; it must never be the bottleneck.
//
// Every RETR response (status line, dot-stuffed body, terminator) is built once, in memory, before the server
// listens, so serving a message is one socket write of a ready buffer. The user name picks the mailbox (one
// per scenario); any password is accepted. It answers USER, PASS, CAPA (advertising PIPELINING), STAT, LIST,
// UIDL, RETR, NOOP and QUIT. Pipelined commands are answered in order; the replies to one batch of commands
// go out in one corked write, and the next batch waits for 'drain' once a megabyte is queued in the socket,
// so a client that reads slowly holds the server back instead of growing its memory.
//
// Run as a child process: `node pop3-server.mjs [--quick]`; it sends { port } over IPC once listening.
import net from 'node:net';
import { expectedTotals, retrResponse, scenarios } from './mailbox.mjs';

const QUEUE_LIMIT = 1024 * 1024;

/** Build the mailboxes of `specs`: for each, the RETR responses and the LIST/UIDL/STAT answers. */
export function buildMailboxes(specs) {
  const boxes = new Map();
  for (const spec of specs) {
    const responses = [];
    for (let m = 1; m <= spec.count; m++) responses.push(retrResponse(m, spec.size));
    const listLines = responses.map((_, i) => `${i + 1} ${spec.size}\r\n`).join('');
    const uidlLines = responses.map((_, i) => `${i + 1} uid-${spec.name}-${i + 1}\r\n`).join('');
    boxes.set(spec.name, {
      spec,
      responses,
      stat: Buffer.from(`+OK ${spec.count} ${spec.count * spec.size}\r\n`),
      list: Buffer.from(`+OK ${spec.count} messages\r\n${listLines}.\r\n`),
      uidl: Buffer.from(`+OK\r\n${uidlLines}.\r\n`),
      totals: expectedTotals(spec),
    });
  }
  return boxes;
}

const CAPA = Buffer.from('+OK Capability list follows\r\nUSER\r\nPIPELINING\r\nUIDL\r\nTOP\r\n.\r\n');
const OK = Buffer.from('+OK\r\n');

/** Start the server on 127.0.0.1 (a free port); resolves with the net.Server once listening. */
export function startServer(boxes, port = 0) {
  const server = net.createServer({ noDelay: true }, (socket) => serve(socket, boxes));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function serve(socket, boxes) {
  let box;
  let user;
  let input = '';
  const commands = [];
  let waiting = false;
  let quitting = false;
  socket.on('error', () => socket.destroy());
  socket.write('+OK bench POP3 server ready\r\n');

  socket.on('data', (chunk) => {
    input += chunk.toString('latin1');
    let start = 0;
    for (let end = input.indexOf('\n', start); end !== -1; end = input.indexOf('\n', start)) {
      commands.push(input.slice(start, input.charCodeAt(end - 1) === 13 ? end - 1 : end));
      start = end + 1;
    }
    input = input.slice(start);
    if (input.length > 1000) socket.destroy();
    pump();
  });

  function pump() {
    if (waiting || quitting) return;
    socket.cork();
    while (commands.length > 0 && socket.writableLength < QUEUE_LIMIT) {
      const reply = answer(commands.shift());
      socket.write(reply);
      if (quitting) break;
    }
    socket.uncork();
    if (quitting) socket.end();
    else if (commands.length > 0) {
      waiting = true;
      socket.once('drain', () => {
        waiting = false;
        pump();
      });
    }
  }

  function answer(line) {
    const space = line.indexOf(' ');
    const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
    const arg = space === -1 ? undefined : line.slice(space + 1);
    switch (verb) {
      case 'CAPA':
        return CAPA;
      case 'QUIT':
        quitting = true;
        return Buffer.from('+OK bye\r\n');
      case 'NOOP':
        return OK;
      case 'USER':
        user = arg;
        return OK;
      case 'PASS':
        box = boxes.get(user);
        return box === undefined ? Buffer.from('-ERR [AUTH] no such mailbox\r\n') : Buffer.from('+OK logged in\r\n');
    }
    if (box === undefined) return Buffer.from('-ERR log in first\r\n');
    const n = arg === undefined ? undefined : Number(arg);
    const valid = n !== undefined && Number.isInteger(n) && n >= 1 && n <= box.responses.length;
    switch (verb) {
      case 'STAT':
        return box.stat;
      case 'LIST':
        if (n === undefined) return box.list;
        return valid ? Buffer.from(`+OK ${n} ${box.spec.size}\r\n`) : Buffer.from('-ERR no such message\r\n');
      case 'UIDL':
        if (n === undefined) return box.uidl;
        return valid ? Buffer.from(`+OK ${n} uid-${box.spec.name}-${n}\r\n`) : Buffer.from('-ERR no such message\r\n');
      case 'RETR':
        return valid ? box.responses[n - 1] : Buffer.from('-ERR no such message\r\n');
      default:
        return Buffer.from('-ERR unknown command\r\n');
    }
  }
}

if (process.send !== undefined && process.argv[1] === new URL(import.meta.url).pathname) {
  const boxes = buildMailboxes(scenarios(process.argv.includes('--quick')));
  const server = await startServer(boxes);
  process.send({ port: server.address().port });
  process.on('disconnect', () => process.exit(0));
}
