/**
 * The demo page's entry: loads the configuration (which servers the proxy allows, from `npm start`), the
 * sample mailbox for offline mode and the strings of the preferred language, then mounts every view.
 */
import { App } from './app.js';
import { mountCapabilities } from './capabilities-view.js';
import { mountConnectPanel } from './connect-panel.js';
import type { DemoConfig } from './demo-config-types.js';
import { mountExplain } from './explain-view.js';
import { has, LANGUAGES, type Language, onLanguageChange, preferredLanguage, setLanguage, t, translate } from './i18n.js';
import { mountLearn } from './learn-view.js';
import { mountMailbox } from './mailbox-view.js';
import type { SampleMailbox } from './offline-server.js';
import { mountPalette } from './palette.js';
import { startReplayFromLocation } from './replay.js';
import { mountStateDiagram } from './state-diagram.js';
import { announce, mountStatus } from './status.js';
import { mountTranscript } from './transcript-view.js';
import { mountViewer } from './viewer.js';

const LANGUAGE_KEY = 'pop3kit-demo-language';

async function start(): Promise<void> {
  mountStatus(document.getElementById('status')!);
  const stored = localStorage.getItem(LANGUAGE_KEY);
  const language: Language = (LANGUAGES as readonly string[]).includes(stored ?? '') ? (stored as Language) : preferredLanguage();
  const [config, sample] = await Promise.all([loadConfig(), fetchJson<SampleMailbox>('sample-mailbox.json'), setLanguage(language)]);
  const app = new App(config, sample);

  mountLanguageSwitch(document.getElementById('language') as HTMLSelectElement, language);
  onLanguageChange(() => translate(document));
  translate(document);

  const view = (name: string) => document.querySelector<HTMLElement>(`[data-view="${name}"]`)!;
  mountConnectPanel(view('connect'), app);
  mountStateDiagram(view('state'), app);
  mountPalette(view('palette'), app);
  mountCapabilities(view('capabilities'), app);
  mountTranscript(view('transcript'), app);
  mountExplain(view('explain'), app);
  mountMailbox(view('mailbox'), app);
  mountViewer(view('viewer'), app);
  mountLearn(view('learn'), app);
  document.body.dataset.ready = 'true';
  // A #replay= link replays offline; a bad link is explained in the status line, never thrown.
  startReplayFromLocation(app).catch((error: unknown) => console.error(error));
}

/** The configuration of `npm start`; undefined when the page is served some other way (offline only). */
async function loadConfig(): Promise<DemoConfig | undefined> {
  try {
    return await fetchJson<DemoConfig>('demo-config.json');
  } catch {
    return undefined;
  }
}

async function fetchJson<T>(path: string): Promise<T> {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

function mountLanguageSwitch(select: HTMLSelectElement, current: Language): void {
  const fill = () => {
    select.replaceChildren(...LANGUAGES.map((code) => new Option(t(`app.languages.${code}`), code, false, code === current)));
  };
  fill();
  onLanguageChange(fill);
  select.addEventListener('change', () => {
    current = select.value as Language;
    localStorage.setItem(LANGUAGE_KEY, current);
    setLanguage(current).catch((error: unknown) => announce(String(error), 'error'));
  });
}

start().catch((error: unknown) => {
  console.error(error);
  const reason = error instanceof Error ? error.message : String(error);
  // The strings themselves may be what failed to load.
  announce(has('app.startFailed') ? t('app.startFailed', { reason }) : `The page could not start: ${reason}`, 'error');
});
