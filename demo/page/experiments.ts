/**
 * "Break it": experiments that do something POP3 forbids, or that goes wrong in real life, and show what
 * happens and why. Each is a script over an ExperimentHost (the App's session, a second session of its own,
 * or a raw byte connection) that reports its steps as data (string keys with parameters, and the wire lines
 * of connections that are not the App's) and ends with a result whose explanation depends on what the
 * server actually did. No DOM here: experiment-view.ts draws them, and the tests run them against the real
 * offline server.
 *
 * What the scripts send through the App's session appears in the transcript like any command; lines of the
 * other connections are reported with the step, for the experiment's panel.
 */
import { utf8 } from '../../core/bytes.js';
import type { Transport } from '../../core/client/transport.js';
import { openWebSocketTransport } from '../../core/client/websocket-transport.js';
import { ServerError } from '../../core/errors.js';
import type { App, Place } from './app.js';
import type { Credentials } from './lesson.js';
import { inUse, loginWithRetry, type PanelLine, panelLines, visibleLineEnds, wait } from './lesson-place.js';
import { DemoSession, type DemoCommand, type Outcome, withTarget } from './session.js';

export const EXPERIMENT_IDS = ['passBeforeUser', 'wrongPassword', 'bareLf', 'drop', 'inUse'] as const;
export type ExperimentId = (typeof EXPERIMENT_IDS)[number];

/** What an experiment needs from the page. */
export interface ExperimentHost {
  /** Open a new session for the App at the experiment's place (replacing the current one, without QUIT). */
  connect(): Promise<DemoSession>;
  /** Send a command in the App's session (it appears in the transcript). */
  run(command: DemoCommand): Promise<Outcome>;
  /** A session of the experiment's own at the same place (not the App's: not in the transcript). */
  openSecondary(): Promise<DemoSession>;
  /** A raw byte connection to the same place, for bytes the client engine will not send. */
  openRaw(): Promise<Transport>;
  /** The sample account, when the page knows it. */
  readonly credentials: Credentials | undefined;
}

/** One step as the panel shows it: `key` is a full string key (`experiments.…`). */
export interface ExperimentStep {
  readonly key: string;
  readonly params?: Readonly<Record<string, string | number>>;
  /** Lines of a connection that is not the App's. */
  readonly lines?: readonly PanelLine[];
  /** good: what the experiment set out to show happened; bad: something else did. */
  readonly tone: 'info' | 'good' | 'bad';
}

/** How it ended: `key` is the explanation that fits what the server did. */
export interface ExperimentResult {
  readonly asExplained: boolean;
  readonly key: string;
  readonly params?: Readonly<Record<string, string | number>>;
}

export interface Experiment {
  readonly id: ExperimentId;
  /** Needs the account (it logs in). */
  readonly needsAccount: boolean;
  run(host: ExperimentHost, report: (step: ExperimentStep) => void): Promise<ExperimentResult>;
}

/** The host for a place of the App. */
export function appHost(app: App, place: Place, credentials: Credentials | undefined): ExperimentHost {
  return {
    connect: () => app.connect(place),
    run: (command) => app.run(command),
    openSecondary: () => DemoSession.open(app.endpoint(place)),
    openRaw: async () => {
      if (place.kind === 'offline') return app.offline.connect();
      if (app.config === undefined) throw new Error('no proxy configured');
      return openWebSocketTransport(withTarget(app.config.proxyUrl, place.target.target), {
        secure: place.target.tls,
        local: place.target.embedded,
        connectTimeout: 10_000,
      });
    },
    credentials,
  };
}

const key = (id: ExperimentId, rest: string) => `experiments.items.${id}.${rest}`;

/** The status line the server sent last in the App's session from entry `from` on. */
function lastServerLine(session: DemoSession, from: number): string {
  const lines = session.entries.slice(from).filter((entry) => entry.from === 'server');
  return lines[lines.length - 1]?.text ?? '';
}

/** Log in the App's session, telling the learner when the server is still releasing a lock. */
async function appLogin(host: ExperimentHost, id: ExperimentId, report: (step: ExperimentStep) => void): Promise<Outcome> {
  return loginWithRetry((command) => host.run(command), host.credentials!, {
    onRetry: () => report({ key: 'experiments.common.waitingForLock', tone: 'info' }),
  }).then((outcome) => {
    report(outcome.ok ? { key: 'experiments.common.loggedIn', tone: 'info' } : { key: key(id, 'steps.loginFailed'), tone: 'bad' });
    return outcome;
  });
}

const passBeforeUser: Experiment = {
  id: 'passBeforeUser',
  needsAccount: false,
  async run(host, report) {
    const session = await host.connect();
    report({ key: 'experiments.common.connected', tone: 'info' });

    // 1. The client engine refuses: PASS without a successful USER is not a command it will send.
    const before = session.entries.length;
    const local = await host.run({ verb: 'PASS', password: 'example' });
    const sent = session.entries.slice(before).filter((entry) => entry.from === 'client').length;
    const refusedLocally = !local.ok && local.handle === undefined && sent === 0;
    report(
      refusedLocally
        ? { key: key('passBeforeUser', 'steps.refusedLocally'), params: { reason: local.ok ? '' : local.error.message }, tone: 'good' }
        : { key: key('passBeforeUser', 'steps.sentAnyway'), tone: 'bad' },
    );

    // 2. The same line as a raw command: the client sends whatever it is given, the server decides.
    const rawFrom = session.entries.length;
    const raw = await host.run({ verb: 'RAW', line: 'PASS example' });
    const reply = lastServerLine(session, rawFrom);
    const refusedByServer = !raw.ok && raw.error instanceof ServerError;
    report({ key: key('passBeforeUser', refusedByServer ? 'steps.serverRefused' : 'steps.serverAccepted'), params: { reply }, tone: refusedByServer ? 'good' : 'bad' });
    return {
      asExplained: refusedLocally && refusedByServer,
      key: key('passBeforeUser', refusedByServer ? 'results.refused' : 'results.accepted'),
      params: { reply },
    };
  },
};

const wrongPassword: Experiment = {
  id: 'wrongPassword',
  needsAccount: false,
  async run(host, report) {
    const session = await host.connect();
    report({ key: 'experiments.common.connected', tone: 'info' });
    const user = host.credentials?.user ?? 'demo';
    await host.run({ verb: 'USER', name: user });
    const wrong = host.credentials?.password === 'not-the-password' ? 'still-not-the-password' : 'not-the-password';
    const from = session.entries.length;
    const pass = await host.run({ verb: 'PASS', password: wrong });
    const reply = lastServerLine(session, from);
    const code = !pass.ok && pass.error instanceof ServerError ? pass.error.responseCode : undefined;
    if (pass.ok) {
      report({ key: key('wrongPassword', 'steps.accepted'), tone: 'bad' });
      return { asExplained: false, key: key('wrongPassword', 'results.accepted') };
    }
    report({ key: key('wrongPassword', 'steps.refused'), params: { reply, state: session.state.toUpperCase() }, tone: code === 'AUTH' ? 'good' : 'bad' });
    return {
      asExplained: code === 'AUTH',
      key: key('wrongPassword', code === 'AUTH' ? 'results.auth' : code === undefined ? 'results.noCode' : 'results.otherCode'),
      params: { reply, code: code ?? '' },
    };
  },
};

/** Reads whole lines from a raw transport, with a time limit per line. */
export class LineReader {
  readonly #transport: Transport;
  #buffer = new Uint8Array(0);
  #pending: Promise<Uint8Array | undefined> | undefined;
  #ended = false;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** The next line with its line end (CRLF or LF), `timeout` when none came in time, `closed` at the end. */
  async line(timeoutMs: number): Promise<Uint8Array | 'timeout' | 'closed'> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lf = this.#buffer.indexOf(0x0a);
      if (lf !== -1) {
        const line = this.#buffer.slice(0, lf + 1);
        this.#buffer = this.#buffer.slice(lf + 1);
        return line;
      }
      if (this.#ended) return 'closed';
      this.#pending ??= this.#transport.read().catch(() => undefined);
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      const chunk = await Promise.race([this.#pending, wait(left).then(() => 'timeout' as const)]);
      if (chunk === 'timeout') return 'timeout';
      this.#pending = undefined;
      if (chunk === undefined) {
        this.#ended = true;
        continue;
      }
      const joined = new Uint8Array(this.#buffer.length + chunk.length);
      joined.set(this.#buffer);
      joined.set(chunk, this.#buffer.length);
      this.#buffer = joined;
    }
  }
}

const bareLf: Experiment = {
  id: 'bareLf',
  needsAccount: false,
  async run(host, report): Promise<ExperimentResult> {
    const transport = await host.openRaw();
    const lines: PanelLine[] = [];
    const show = (from: PanelLine['from'], bytes: Uint8Array) => lines.push({ from, text: visibleLineEnds(bytes) });
    try {
      const reader = new LineReader(transport);
      const greeting = await reader.line(10_000);
      if (typeof greeting === 'string') {
        report({ key: 'experiments.common.noGreeting', tone: 'bad' });
        return { asExplained: false, key: 'experiments.common.failed', params: { reason: greeting } };
      }
      show('server', greeting);
      report({ key: key('bareLf', 'steps.opened'), lines: lines.slice(), tone: 'info' });

      const command = utf8(`USER ${host.credentials?.user ?? 'demo'}\n`);
      await transport.write(command);
      show('client', command);
      const reply = await reader.line(4000);
      if (typeof reply !== 'string') show('server', reply);
      const text = typeof reply === 'string' ? '' : new TextDecoder().decode(reply).trimEnd();
      const outcome = reply === 'timeout' ? 'silent' : reply === 'closed' ? 'closed' : text.startsWith('+OK') ? 'accepted' : 'refused';
      report({ key: key('bareLf', `steps.${outcome}`), params: { reply: text }, lines: lines.slice(), tone: 'info' });

      if (reply !== 'closed') {
        const quit = utf8('QUIT\r\n');
        await transport.write(quit).catch(() => undefined);
        show('client', quit);
        const bye = await reader.line(4000);
        if (typeof bye !== 'string') show('server', bye);
        report({ key: key('bareLf', 'steps.quit'), lines: lines.slice(), tone: 'info' });
      }
      // Our own server takes LF alone as a line end (see core/server/server-engine.ts): that is what the
      // explanation says, and what this experiment shows.
      return { asExplained: outcome === 'accepted', key: key('bareLf', `results.${outcome}`), params: { reply: text } };
    } finally {
      transport.close();
    }
  },
};

const drop: Experiment = {
  id: 'drop',
  needsAccount: true,
  async run(host, report) {
    const first = await host.connect();
    report({ key: 'experiments.common.connected', tone: 'info' });
    if (!(await appLogin(host, 'drop', report)).ok) return { asExplained: false, key: key('drop', 'results.noLogin') };
    const count = await statCount(host);
    const dele = await host.run({ verb: 'DELE', message: 1 });
    const inSession = await statCount(host);
    report({ key: key('drop', 'steps.marked'), params: { count, inSession, reply: dele.ok ? dele.text : '' }, tone: dele.ok ? 'info' : 'bad' });

    first.drop();
    for (let i = 0; i < 50 && !first.closed; i++) await wait(20);
    report({ key: key('drop', 'steps.dropped'), tone: 'info' });

    await host.connect();
    report({ key: 'experiments.common.reconnected', tone: 'info' });
    if (!(await appLogin(host, 'drop', report)).ok) return { asExplained: false, key: key('drop', 'results.noLogin') };
    const after = await statCount(host);
    const kept = after === count;
    report({ key: key('drop', 'steps.counted'), params: { count: after }, tone: kept ? 'good' : 'bad' });
    return { asExplained: kept, key: key('drop', kept ? 'results.kept' : 'results.lost'), params: { count, after } };
  },
};

async function statCount(host: ExperimentHost): Promise<number> {
  const stat = await host.run({ verb: 'STAT' });
  return stat.ok && stat.result.verb === 'STAT' ? stat.result.count : -1;
}

const inUseExperiment: Experiment = {
  id: 'inUse',
  needsAccount: true,
  async run(host, report) {
    await host.connect();
    report({ key: 'experiments.common.connected', tone: 'info' });
    if (!(await appLogin(host, 'inUse', report)).ok) return { asExplained: false, key: key('inUse', 'results.noLogin') };

    const second = await host.openSecondary();
    try {
      const credentials = host.credentials!;
      await second.send({ verb: 'USER', name: credentials.user });
      const pass = await second.send({ verb: 'PASS', password: credentials.password });
      const locked = inUse(pass);
      report({
        key: key('inUse', locked ? 'steps.locked' : 'steps.notLocked'),
        params: { reply: lastServerLine(second, 0) },
        lines: panelLines(second.entries),
        tone: locked ? 'good' : 'bad',
      });
      if (!locked) {
        await second.send({ verb: 'QUIT' });
        return { asExplained: false, key: key('inUse', 'results.notLocked') };
      }

      const quit = await host.run({ verb: 'QUIT' });
      report({ key: key('inUse', 'steps.firstQuit'), params: { reply: quit.ok ? quit.text : '' }, tone: 'info' });

      const from = second.entries.length;
      const again = await loginWithRetry((command) => second.send(command), credentials);
      report({
        key: key('inUse', again.ok ? 'steps.secondIn' : 'steps.stillLocked'),
        lines: panelLines(second.entries, from),
        tone: again.ok ? 'good' : 'bad',
      });
      const quitFrom = second.entries.length;
      await second.send({ verb: 'QUIT' });
      report({ key: key('inUse', 'steps.secondQuit'), lines: panelLines(second.entries, quitFrom), tone: 'info' });
      return { asExplained: again.ok, key: key('inUse', again.ok ? 'results.released' : 'results.stillLocked') };
    } finally {
      second.close();
    }
  },
};

export const EXPERIMENTS: readonly Experiment[] = [passBeforeUser, wrongPassword, bareLf, drop, inUseExperiment];

/**
 * Run an experiment; whatever goes wrong on the way (no connection, a lost one) ends it with the
 * `experiments.common.failed` result instead of a rejection.
 */
export async function runExperiment(
  experiment: Experiment,
  host: ExperimentHost,
  report: (step: ExperimentStep) => void,
): Promise<ExperimentResult> {
  if (experiment.needsAccount && host.credentials === undefined) {
    return { asExplained: false, key: 'experiments.common.needsAccount' };
  }
  try {
    return await experiment.run(host, report);
  } catch (error) {
    return { asExplained: false, key: 'experiments.common.failed', params: { reason: error instanceof Error ? error.message : String(error) } };
  }
}
