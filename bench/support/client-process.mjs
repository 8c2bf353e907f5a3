// One client run in its own process, so that its peak RSS and its JIT state are its own, driven by the parent
// over IPC (bench/client-download.mjs interleaves the rounds of several such processes):
// `node client-process.mjs JSON`, where JSON is { client, port, user, spec, ... }. The process opens its client
// (bench/support/clients.mjs) and sends { ready: true }; then each message { round: N } does one round and is
// answered with { round: { seconds, cpu, bytes } }, and { finish: true } with { result }: the client's own
// result plus `maxRss`, the process's peak resident set size in bytes (getrusage: exact, no sampling), after
// which the process exits. Anything that goes wrong is answered with { error }. Client `empty` has no rounds,
// which measures the baseline: an idle Node process started the same way.
const job = JSON.parse(process.argv[2]);
// The parent kills a run that takes too long; should the parent itself be gone, its end of the IPC channel
// closes and the run must not outlive it.
process.on('disconnect', () => process.exit(3));

async function open() {
  switch (job.client) {
    case 'empty':
      return { finish: () => ({}) };
    case 'raw':
      return (await import('./clients.mjs')).openRaw(job);
    case 'pop3kit':
      return (await import('./clients.mjs')).openPop3kit(job);
    case 'node-pop3':
      return (await import('./clients.mjs')).openNodePop3(job);
    default:
      throw new Error(`unknown client ${job.client}`);
  }
}

const failure = (error) => ({ error: String(error?.stack ?? error) });
let client;
try {
  client = await open();
} catch (error) {
  process.send(failure(error), () => process.exit(1));
}
if (client !== undefined) {
  // The parent sends one message at a time and waits for its answer.
  process.on('message', async (message) => {
    try {
      if (message.round !== undefined) {
        process.send({ round: await client.round(message.round) });
      } else {
        const result = { ...client.finish(), maxRss: process.resourceUsage().maxRSS * 1024 };
        // Whatever a client left open (a socket, a timer) must not keep the process alive.
        process.send({ result }, () => process.exit(0));
      }
    } catch (error) {
      process.send(failure(error));
    }
  });
  process.send({ ready: true });
}
