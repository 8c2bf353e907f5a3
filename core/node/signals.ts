/** The signals a command-line server stops on, for the CLIs of this package (serve, proxy, the demo). */

/**
 * Resolves with the next SIGINT or SIGTERM (Ctrl-C, or a service manager). It then stops listening, so the
 * default action applies again and a second signal ends the process at once.
 */
export function nextStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
    const handler = (signal: NodeJS.Signals) => {
      for (const s of signals) process.off(s, handler);
      resolve(signal);
    };
    for (const s of signals) process.on(s, handler);
  });
}
