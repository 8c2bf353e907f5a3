/**
 * The "Break it" tab: one card per experiment of experiments.ts, each with what it will do, one button to
 * run it, its steps as they happen (with the lines of any connection that is not the App's), and a result
 * that explains what the server did, why, and which RFC rule is at work.
 */
import type { App } from './app.js';
import {
  appHost,
  EXPERIMENTS,
  type Experiment,
  type ExperimentResult,
  type ExperimentStep,
  runExperiment,
} from './experiments.js';
import { h, setText } from './dom.js';
import { onLanguageChange, t } from './i18n.js';
import { setUsable } from './dom.js';
import { button, type LearnContext, rebuildIf, wireList } from './lesson-dom.js';
import { credentialsFor, learnPlace } from './lesson-place.js';

interface Card {
  readonly experiment: Experiment;
  readonly run: HTMLButtonElement;
  render(): void;
}

/** Mount the "break it" experiments in `root`; a running experiment sets `context.activity`. */
export function mountExperiments(root: HTMLElement, app: App, context: LearnContext): void {
  const intro = h('p', { class: 'learn-experiments-intro' });
  const list = h('ul', { class: 'learn-experiments' });
  root.append(intro, list);
  const cards: Card[] = EXPERIMENTS.map((experiment) => card(experiment));

  function card(experiment: Experiment): Card {
    const base = `experiments.items.${experiment.id}`;
    let steps: ExperimentStep[] = [];
    let result: ExperimentResult | undefined;
    let running = false;

    const title = h('h3', { id: `learn-experiment-${experiment.id}` });
    const what = h('p', { class: 'learn-experiment-what' });
    const run = button('learn-experiment-run');
    const stepList = h('ol', { class: 'learn-experiment-steps' });
    const resultBox = h('div', { class: 'learn-experiment-result', role: 'status', 'aria-live': 'polite' });
    const article = h(
      'article',
      { class: 'learn-experiment', 'aria-labelledby': title.id, 'data-experiment': experiment.id },
      title,
      what,
      h('div', { class: 'learn-actions' }, run),
      stepList,
      resultBox,
    );
    list.append(h('li', {}, article));

    const render = () => {
      setText(title, t(`${base}.title`));
      setText(what, t(`${base}.what`));
      setText(run, running ? t('experiments.running') : result === undefined ? t('experiments.run') : t('experiments.runAgain'));
      // aria-disabled: the pressed button keeps the keyboard focus while its experiment runs.
      setUsable(run, context.activity === 'learner');
      article.dataset.state = running ? 'running' : result === undefined ? 'idle' : 'done';
      // Both lists are live or read as they grow: rebuilt only when they change.
      const language = t('experiments.run');
      rebuildIf(stepList, JSON.stringify([steps, language]), () =>
        steps.map((step) =>
          h(
            'li',
            { class: 'learn-experiment-step', 'data-tone': step.tone },
            h('span', {}, t(step.key, step.params)),
            step.lines !== undefined && step.lines.length > 0 && wireList(step.lines),
          ),
        ),
      );
      stepList.hidden = steps.length === 0;
      resultBox.hidden = result === undefined;
      if (result !== undefined) resultBox.dataset.outcome = result.asExplained ? 'as-explained' : 'different';
      rebuildIf(resultBox, JSON.stringify([result, language]), () => {
        if (result === undefined) return [];
        const parts = [
          h('p', { class: 'learn-experiment-verdict' }, h('strong', {}, t(result.asExplained ? 'experiments.asExplained' : 'experiments.different'))),
          h('p', {}, t(result.key, result.params)),
        ];
        // The general explanation and the rule, unless the experiment could not even start.
        if (!result.key.startsWith('experiments.common.')) {
          parts.push(
            h('p', {}, h('strong', {}, t('experiments.why')), ' ', t(`${base}.why`)),
            h('p', { class: 'learn-experiment-rfc muted' }, t(`${base}.rfc`)),
          );
        }
        return parts;
      });
    };

    run.addEventListener('click', () => {
      if (context.activity !== 'learner') return;
      const place = learnPlace(app);
      steps = [];
      result = undefined;
      running = true;
      context.activity = 'experiment';
      render();
      void runExperiment(experiment, appHost(app, place, credentialsFor(app, place)), (step) => {
        steps.push(step);
        render();
      }).then((ended) => {
        result = ended;
        running = false;
        context.activity = 'learner';
        // No focus() here: the button kept the focus, and a learner who went elsewhere meanwhile stays there.
        render();
      });
    });
    return { experiment, run, render };
  }

  const render = () => {
    setText(intro, t('experiments.intro'));
    for (const item of cards) item.render();
  };
  context.onChange(render);
  onLanguageChange(render);
  render();
}
