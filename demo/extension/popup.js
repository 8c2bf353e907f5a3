// The popup: logs in through the pop3kit proxy and lists the mailbox (number, subject, size) with TOP n 0.
// pop3kit.browser.js is the browser bundle (`npm run build`), copied next to this file by prepare.mjs.
import { openWebSocketTransport, Pop3Client, WebSocketCloseError } from './pop3kit.browser.js';

const form = document.querySelector('#account');
const status = document.querySelector('#status');
const list = document.querySelector('#messages');

/** The value of a header in a message head, with folded lines joined (RFC 5322 section 2.2.3). */
function header(head, name) {
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  return new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(unfolded)?.[1];
}

async function listMailbox({ proxy, target, user, password, plaintext }) {
  const url = new URL(proxy);
  if (target !== '') url.searchParams.set('target', target);
  const transport = await openWebSocketTransport(url, { connectTimeout: 10_000 });
  const client = new Pop3Client(transport);
  try {
    await client.connect();
    await client.login({ username: user, password, requireTls: !plaintext });
    const messages = await client.listing();
    const rows = [];
    for (const { message, size } of messages) {
      const head = new TextDecoder().decode(await client.top(message, 0));
      rows.push({ message, size, subject: header(head, 'Subject') ?? '(no subject)', from: header(head, 'From') ?? '' });
    }
    await client.quit();
    return rows;
  } finally {
    client.close();
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  status.textContent = 'Connecting…';
  list.replaceChildren();
  try {
    const rows = await listMailbox({
      proxy: String(data.get('proxy')),
      target: String(data.get('target')).trim(),
      user: String(data.get('user')),
      password: String(data.get('password')),
      plaintext: data.get('plaintext') === 'on',
    });
    for (const { message, size, subject, from } of rows) {
      const item = document.createElement('li');
      item.value = message;
      item.textContent = `${subject} (${from ? `${from}, ` : ''}${size} bytes)`;
      list.append(item);
    }
    status.textContent = `${rows.length} message${rows.length === 1 ? '' : 's'}`;
  } catch (error) {
    status.textContent =
      error instanceof WebSocketCloseError && error.reason !== '' ? `The proxy refused: ${error.reason}` : `Failed: ${error.message}`;
  }
});
