// One client run in its own process, so that its peak RSS is its own: `node client-process.mjs JSON`, where
// JSON is { client, port, user, rounds, spec, ... }. Prints one JSON line: the client's result plus `maxRss`,
// the process's peak resident set size in bytes (getrusage: exact, no sampling). Client `empty` does nothing,
// which measures the baseline: an idle Node process started the same way.
const job = JSON.parse(process.argv[2]);
// The parent kills a run that takes too long; this is the backstop should the parent itself be gone.
if (job.deadline !== undefined) setTimeout(() => process.exit(3), job.deadline * 1000).unref();
let result;
try {
  switch (job.client) {
    case 'empty':
      result = {};
      break;
    case 'raw':
      result = await (await import('./clients.mjs')).runRaw(job);
      break;
    case 'pop3kit':
      result = await (await import('./clients.mjs')).runPop3kit(job);
      break;
    case 'node-pop3':
      result = await (await import('./clients.mjs')).runNodePop3(job);
      break;
    default:
      throw new Error(`unknown client ${job.client}`);
  }
} catch (error) {
  result = { error: String(error?.stack ?? error) };
}
result.maxRss = process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify(result)}\n`);
// Whatever a client left open (a socket, a timer) must not keep the process alive.
process.exit(0);
