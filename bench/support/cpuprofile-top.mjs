// Summarize a V8 .cpuprofile (from node --cpu-prof, e.g. `bench/client-download.mjs --cpu-prof=DIR`):
// the functions with the most self time, and the most inclusive time, with their file and line.
//   node bench/support/cpuprofile-top.mjs FILE.cpuprofile [N] [--callers=NAME] [--under=NAME]
// --callers=NAME also shows which callers the samples of functions whose name starts with NAME came through;
// --under=NAME counts only the samples taken inside a function whose name starts with NAME (e.g. `fill`, to
// see what queueing a batch costs, apart from reading the replies).
import { readFileSync } from 'node:fs';
import path from 'node:path';

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const callersOf = process.argv.find((arg) => arg.startsWith('--callers='))?.slice('--callers='.length);
const under = process.argv.find((arg) => arg.startsWith('--under='))?.slice('--under='.length);
const [file, n = '25'] = positional;
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const dt = new Map();
for (let i = 0; i < profile.samples.length; i++) dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));

const name = ({ callFrame: f }) => `${f.functionName || '(anonymous)'} ${f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : ''}`.trim();
const self = new Map();
const inclusive = new Map();
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
if (under !== undefined) {
  const inside = (id) => {
    for (let at = id; at !== undefined; at = parent.get(at)) if (name(nodes.get(at)).startsWith(under)) return true;
    return false;
  };
  for (const id of [...dt.keys()]) if (!inside(id)) dt.delete(id);
}
const total = [...dt.values()].reduce((a, b) => a + b, 0);
for (const [id, time] of dt) {
  const key = name(nodes.get(id));
  self.set(key, (self.get(key) ?? 0) + time);
  // Count each function once per sample path, however deep it recurses.
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const k = name(nodes.get(at));
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + time);
  }
}
const show = (title, map) => {
  console.log(`\n${title} (of ${(total / 1000).toFixed(0)} ms sampled)`);
  for (const [key, time] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) {
    console.log(`${((time / total) * 100).toFixed(1).padStart(5)}%  ${(time / 1000).toFixed(1).padStart(8)} ms  ${key}`);
  }
};
show('self time', self);
show('inclusive time', inclusive);

if (callersOf !== undefined) {
  // Inclusive time of NAME, split by the caller each sample came through.
  const byCaller = new Map();
  for (const [id, time] of dt) {
    for (let at = id; at !== undefined; at = parent.get(at)) {
      if (!name(nodes.get(at)).startsWith(callersOf)) continue;
      const up = parent.get(at);
      const key = `${name(nodes.get(at))}  <-  ${up === undefined ? '(none)' : name(nodes.get(up))}`;
      byCaller.set(key, (byCaller.get(key) ?? 0) + time);
      break;
    }
  }
  show(`callers of ${callersOf}`, byCaller);
}
