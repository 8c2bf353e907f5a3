/**
 * The learn panel: three tabs (an ARIA tablist: arrow keys, Home and End move between them) holding the
 * guided lesson with its levels, the "break it" experiments, and sharing (share-view.ts).
 */
import type { App } from './app.js';
import { h, setText } from './dom.js';
import { mountExperiments } from './experiment-view.js';
import { onLanguageChange, t } from './i18n.js';
import { LearnContext } from './lesson-dom.js';
import { mountLevels } from './lesson-levels-view.js';
import { mountLessonTour } from './lesson-view.js';
import { mountShare } from './share-view.js';

const TABS = ['lesson', 'break', 'share'] as const;
type Tab = (typeof TABS)[number];

/** Mount the learn panel (its tabs and the views in them) in `root`. */
export function mountLearn(root: HTMLElement, app: App): void {
  root.textContent = '';
  const context = new LearnContext();
  const tablist = h('div', { class: 'learn-tabs', role: 'tablist' });
  const tabs = new Map<Tab, HTMLButtonElement>();
  const panels = new Map<Tab, HTMLElement>();
  for (const name of TABS) {
    const tab = h('button', { class: 'learn-tab', role: 'tab', id: `learn-tab-${name}`, 'aria-controls': `learn-panel-${name}`, type: 'button' });
    const panel = h('div', { class: 'learn-panel', role: 'tabpanel', id: `learn-panel-${name}`, 'aria-labelledby': `learn-tab-${name}`, tabindex: '0' });
    tabs.set(name, tab);
    panels.set(name, panel);
    tablist.append(tab);
  }
  root.append(h('div', { class: 'learn-view' }, tablist, ...panels.values()));

  const select = (name: Tab, focus: boolean) => {
    for (const [other, tab] of tabs) {
      const selected = other === name;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      panels.get(other)!.hidden = !selected;
    }
    share.setShown(name === 'share');
    if (focus) tabs.get(name)!.focus();
  };
  for (const [name, tab] of tabs) {
    tab.addEventListener('click', () => select(name, false));
    tab.addEventListener('keydown', (event) => {
      const at = TABS.indexOf(name);
      const next =
        event.key === 'ArrowRight' ? TABS[(at + 1) % TABS.length]
        : event.key === 'ArrowLeft' ? TABS[(at + TABS.length - 1) % TABS.length]
        : event.key === 'Home' ? TABS[0]
        : event.key === 'End' ? TABS[TABS.length - 1]
        : undefined;
      if (next === undefined) return;
      event.preventDefault();
      select(next, true);
    });
  }

  const lesson = panels.get('lesson')!;
  const tour = h('div', { class: 'learn-tour-root' });
  const levels = h('div', { class: 'learn-levels-root' });
  lesson.append(tour, levels);
  mountLessonTour(tour, app, context);
  mountLevels(levels, app, context);
  mountExperiments(panels.get('break')!, app, context);
  // Told when its tab is shown: it builds its exports only then (see ShareView).
  const share = mountShare(panels.get('share')!, app);

  const label = () => {
    tablist.setAttribute('aria-label', t('learn.tabs.label'));
    for (const [name, tab] of tabs) setText(tab, t(`learn.tabs.${name}`));
  };
  onLanguageChange(label);
  label();
  select('lesson', false);
}
