// @ts-check
// Builds dist/ from the TypeScript sources in core/ and proxy/:
//   dist/<name>.js, dist/<name>.cjs   ESM and CommonJS for bundlers and Node (dependencies stay external)
//   dist/<name>.d.ts                  bundled type declarations
//   dist/pop3kit.browser.js           one self-contained ES module for browsers (dependencies bundled)
import { builtinModules } from 'node:module';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import typescriptPlugin from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';
import { demoAssets } from './demo/assets.mjs';

/**
 * Public entry points. `browser: true` marks an entry that must run in a browser: its module graph may not
 * import Node built-ins (every build enforces this) and it gets a browser bundle. A Node-only entry
 * (e.g. the socket transport) is `{ name: 'node', input: 'core/node/index.ts', browser: false }`.
 */
const entries = [
  { name: 'index', input: 'core/index.ts', browser: true },
  { name: 'node', input: 'core/node/index.ts', browser: false },
  // The Node POP3 server, apart from `node` so that a client does not load it.
  { name: 'server', input: 'core/node/server-entry.ts', browser: false },
  // The `pop3kit` command (package.json `bin`): it gets the `#!` line of `banner` below, and no declarations.
  { name: 'cli', input: 'core/node/cli.ts', browser: false, declarations: false },
  // The WebSocket-to-TCP proxy (Node only, on the `ws` package).
  { name: 'proxy', input: 'proxy/index.ts', browser: false },
  // The process `npm start` runs: the demo page, the proxy and the embedded server (not part of the API).
  { name: 'demo-server', input: 'demo/server/main.ts', browser: false, declarations: false },
];

/**
 * True for `node:*` and every name Node lists as built in, including subpaths like `fs/promises`.
 * @param {string} id
 */
export function isNodeBuiltin(id) {
  return id.startsWith('node:') || builtinModules.includes(id);
}

/**
 * Fails the build when a module reachable from a guarded entry imports a Node built-in.
 * Guarded are the given entry files, or every entry of the build when none are given.
 * Built-ins are resolved as external here (before any other resolver, so no browser polyfill can stand in
 * for one) and the check runs once the module graph is complete, so the error can show the import chain.
 * @param {{ entries?: string[] }} [options]
 * @returns {import('rollup').Plugin}
 */
export function forbidNodeBuiltins({ entries: guardedInputs } = {}) {
  return {
    name: 'forbid-node-builtins',
    resolveId: {
      order: 'pre',
      handler: (source) => (isNodeBuiltin(source) ? { id: source, external: true } : null),
    },
    buildEnd(error) {
      if (error) return;
      const guarded = guardedInputs
        ? guardedInputs.map((input) => path.resolve(input))
        : [...this.getModuleIds()].filter((id) => this.getModuleInfo(id)?.isEntry);
      // Breadth-first walk; `importer` remembers how each module was reached.
      /** @type {Map<string, string | null>} */
      const importer = new Map(guarded.map((id) => [id, null]));
      for (const id of importer.keys()) {
        const info = this.getModuleInfo(id);
        for (const imported of [...(info?.importedIds ?? []), ...(info?.dynamicallyImportedIds ?? [])]) {
          if (isNodeBuiltin(imported)) {
            const chain = [id];
            for (let m = importer.get(id); m; m = importer.get(m)) chain.unshift(m);
            const shown = chain.map((m) => path.relative(process.cwd(), m)).join(' -> ');
            this.error(
              `Node built-in "${imported}" imported by browser-safe code: ${shown}. ` +
                'Browser-safe entries may not import Node built-ins; move Node-only code to a Node-only entry.',
            );
          }
          if (!importer.has(imported)) importer.set(imported, id);
        }
      }
    },
  };
}

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const dependencies = Object.keys(pkg.dependencies ?? {});
/**
 * Dependencies (and their subpath imports, e.g. `@noble/hashes/sha2.js`) are the user's to install.
 * @param {string} id
 */
const isDependency = (id) => dependencies.some((dep) => id === dep || id.startsWith(`${dep}/`));

// The package's types describe a CommonJS module, so under NodeNext its default import looks like the module
// object; at run time it is the plugin function.
const typescript = /** @type {typeof import('@rollup/plugin-typescript').default} */ (/** @type {unknown} */ (typescriptPlugin));
// The plugin's own default (module: esnext) would override the `module` that core/tsconfig.json inherits, and
// core is TypeScript only: allowJs (inherited so the root project can check this file) would make the plugin
// emit into a temporary outDir outside dist/, which it then rejects.
//
// Three TypeScript programs, because core/ is checked without Node types and core/node/ and proxy/ with them: the
// browser-safe program compiles everything outside core/node/ and proxy/, the Node programs (core/node/tsconfig.json,
// proxy/tsconfig.json) only their own folder.
// Each plugin instance transforms just the files its filter matches, so the one build still sees one module
// graph and can put shared code in shared chunks.
const tsOptions = { module: 'NodeNext', allowJs: false, checkJs: false };
const ts = () => typescript({ tsconfig: 'core/tsconfig.json', exclude: ['core/node/**', 'proxy/**', 'demo/**'], ...tsOptions });
const tsNode = () => typescript({ tsconfig: 'core/node/tsconfig.json', include: ['core/node/**/*.ts'], ...tsOptions });
const tsProxy = () => typescript({ tsconfig: 'proxy/tsconfig.json', include: ['proxy/**/*.ts'], ...tsOptions });
const tsDemoServer = () => typescript({ tsconfig: 'demo/server/tsconfig.json', include: ['demo/server/**/*.ts'], ...tsOptions });
// The page is checked without Node types, like core/, whose sources it compiles into its own bundle.
const tsDemoPage = () =>
  typescript({ tsconfig: 'demo/page/tsconfig.json', include: ['demo/page/**/*.ts', 'core/**/*.ts'], exclude: ['core/node/**'], ...tsOptions });
const inputs = Object.fromEntries(entries.map((e) => [e.name, e.input]));
const declarationInputs = Object.fromEntries(entries.filter((e) => e.declarations !== false).map((e) => [e.name, e.input]));
/**
 * `#!/usr/bin/env node` at the top of the command-line entry, so that dist/cli.js runs as an executable.
 * @param {import('rollup').RenderedChunk} chunk
 */
const banner = (chunk) => (chunk.isEntry && chunk.name === 'cli' ? '#!/usr/bin/env node' : '');
const browserInputs = entries.filter((e) => e.browser).map((e) => e.input);

export default [
  // One build for all entries, so code they share lands in shared chunks instead of being copied into each:
  // a copy would give every entry its own error classes and break `instanceof` across entry points.
  {
    input: inputs,
    external: isDependency,
    plugins: [forbidNodeBuiltins({ entries: browserInputs }), ts(), tsNode(), tsProxy(), tsDemoServer()],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].js', chunkFileNames: 'shared-[hash].js', banner },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'shared-[hash].cjs', banner },
    ],
  },
  {
    input: declarationInputs,
    external: (/** @type {string} */ id) => isDependency(id) || isNodeBuiltin(id),
    // Declarations only: the Node program's options (Node types) serve both entries.
    plugins: [dts({ tsconfig: 'core/node/tsconfig.json' })],
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].d.ts', chunkFileNames: 'shared-[hash].d.ts' },
  },
  ...entries
    .filter((e) => e.browser)
    .map((e) => ({
      input: e.input,
      plugins: [forbidNodeBuiltins(), nodeResolve({ browser: true }), ts()],
      output: {
        file: `dist/${e.name === 'index' ? 'pop3kit' : `pop3kit.${e.name}`}.browser.js`,
        format: 'es',
      },
    })),
  // The demo page: one browser bundle with its dependencies (the MIME parser), plus its static files.
  {
    input: 'demo/page/main.ts',
    plugins: [forbidNodeBuiltins(), nodeResolve({ browser: true }), tsDemoPage(), demoAssets()],
    output: { file: 'dist/demo/app.js', format: 'es' },
  },
];
