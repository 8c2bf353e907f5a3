// Guards the isomorphic promise of core/: the browser build refuses Node built-ins, and the sources use no
// Node globals, timers or clocks (the engine does no I/O and time never enters it). Two folders differ:
// core/node/ holds the Node-only entry points, and core/client/ (the async driver) owns timeouts, so it may set
// timers (the web platform's setTimeout), though still no Node built-ins or globals and no clock reads.
// Also guards the split of the Node entries in the build: a client importing pop3kit/node loads no server code.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rollup } from 'rollup';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { forbidNodeBuiltins, isNodeBuiltin } from '../rollup.config.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('forbidNodeBuiltins rollup plugin', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pop3kit-build-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes the given files into the temporary folder and returns their absolute paths, in order. */
  function files(contents: Record<string, string>): string[] {
    return Object.entries(contents).map(([name, text]) => {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      return file;
    });
  }

  async function build(input: string[], plugin = forbidNodeBuiltins()) {
    const bundle = await rollup({ input, plugins: [plugin], onwarn: () => {} });
    await bundle.generate({ format: 'es' });
    await bundle.close();
  }

  it('fails on a static import of node:net', async () => {
    const [entry] = files({ 'net.js': "import { connect } from 'node:net';\nexport { connect };\n" });
    await expect(build([entry!])).rejects.toThrow(/Node built-in "node:net" imported by browser-safe code/);
  });

  it('fails on a bare built-in name, and names the import chain', async () => {
    const [entry] = files({
      'fs-entry.js': "export { load } from './fs-helper.js';\n",
      'fs-helper.js': "export const load = () => import('fs');\n",
    });
    await expect(build([entry!])).rejects.toThrow(
      /Node built-in "fs" imported by browser-safe code: .*fs-entry\.js -> .*fs-helper\.js/,
    );
  });

  it('builds a clean entry', async () => {
    const [entry] = files({ 'clean.js': 'export const encoder = new TextEncoder();\n' });
    await expect(build([entry!])).resolves.toBeUndefined();
  });

  it('guards only the entries it is given, so a Node-only entry may share the build', async () => {
    const [browser, node] = files({
      'browser.js': "export * from './shared.js';\n",
      'node.js': "export * from './shared.js';\nexport { connect } from 'node:net';\n",
      'shared.js': 'export const shared = 1;\n',
    });
    await expect(build([browser!, node!], forbidNodeBuiltins({ entries: [browser!] }))).resolves.toBeUndefined();
    await expect(build([browser!, node!], forbidNodeBuiltins({ entries: [node!] }))).rejects.toThrow(/node:net/);
  });
});

describe('core/ sources', () => {
  const coreFiles = readdirSync(path.join(root, 'core'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => path.join('core', name));
  const inFolder = (folder: string) => (file: string) => file.startsWith(path.join('core', folder) + path.sep);
  // Node-only code (sockets, files): a separate entry point, compiled with Node types.
  const isNodeOnly = inFolder('node');
  // The async client: the driver that owns time (DESIGN.md: "the driver owns timeouts and cancellation").
  const isDriver = inFolder('client');
  const browserSafeFiles = coreFiles.filter((file) => !isNodeOnly(file));

  // Globals browser-safe code must not touch. Matched as identifiers in the syntax tree, so comments and
  // strings (an error message saying "could not process") never count.
  const nodeGlobals = new Set(['Buffer', 'process']);
  const timers = new Set(['setTimeout', 'setInterval']);
  const forbiddenClocks = new Set(['Date.now', 'performance.now']);

  /** Returns one line per violation in a source file, e.g. `core/x.ts:3 imports "node:net"`. */
  function violations(file: string): string[] {
    const forbiddenGlobals = isDriver(file) ? nodeGlobals : new Set([...nodeGlobals, ...timers]);
    const source = ts.createSourceFile(file, readFileSync(path.join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const found: string[] = [];
    const report = (node: ts.Node, what: string) =>
      found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1} ${what}`);
    const checkSpecifier = (node: ts.Node | undefined) => {
      if (node && ts.isStringLiteralLike(node) && isNodeBuiltin(node.text)) report(node, `imports "${node.text}"`);
    };

    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) checkSpecifier(node.moduleSpecifier);
      else if (ts.isExternalModuleReference(node)) checkSpecifier(node.expression); // import x = require('…')
      else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) checkSpecifier(node.argument.literal);
      else if (
        ts.isCallExpression(node) &&
        (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
          (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
      ) {
        checkSpecifier(node.arguments[0]);
      } else if (ts.isPropertyAccessExpression(node) && forbiddenClocks.has(node.getText(source))) {
        report(node, `reads the clock (${node.getText(source)})`);
      } else if (ts.isIdentifier(node) && forbiddenGlobals.has(node.text) && !isMemberName(node)) {
        report(node, `uses ${node.text}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
  }

  /** True for `x.process` and `{ process: … }`-style names, which are not the global (but `globalThis.process` is). */
  function isMemberName(node: ts.Identifier): boolean {
    const parent = node.parent;
    if (ts.isPropertyAccessExpression(parent) && parent.name === node) {
      return !(ts.isIdentifier(parent.expression) && parent.expression.text === 'globalThis');
    }
    return (ts.isPropertyAssignment(parent) || ts.isClassElement(parent) || ts.isTypeElement(parent)) && parent.name === node;
  }

  it('exist', () => {
    expect(browserSafeFiles).toContain(path.join('core', 'index.ts'));
    expect(browserSafeFiles).toContain(path.join('core', 'client', 'pop3-client.ts'));
    expect(browserSafeFiles).not.toContain(path.join('core', 'node', 'tcp-transport.ts'));
  });

  it('import no Node built-ins and use no Node globals, timers (but in core/client/) or clocks', () => {
    expect(browserSafeFiles.flatMap(violations)).toEqual([]);
  });
});

describe('the built Node entries (npm run build)', () => {
  const dist = path.join(root, 'dist');
  const built = existsSync(path.join(dist, 'node.js'));

  /**
   * What the modules of a dist/ entry's static import graph (relative `import`, `export … from` and `require`
   * followed) define and import: the classes they declare, and the packages and built-ins they import. A
   * dynamic import() is not loaded with its importer, so it is not followed.
   */
  function staticGraph(entry: string) {
    const files = new Set<string>();
    const classes = new Set<string>();
    const externals = new Set<string>();
    const pending = [path.join(dist, entry)];
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (files.has(file)) continue;
      files.add(file);
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      const follow = (specifier: ts.Node | undefined) => {
        if (!specifier || !ts.isStringLiteralLike(specifier)) return;
        if (specifier.text.startsWith('.')) pending.push(path.resolve(path.dirname(file), specifier.text));
        else externals.add(specifier.text);
      };
      const visit = (node: ts.Node): void => {
        if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) follow(node.moduleSpecifier);
        else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'require') {
          follow(node.arguments[0]);
        } else if (ts.isClassDeclaration(node) && node.name) classes.add(node.name.text);
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    return { classes, externals };
  }

  // What only the server needs: its classes (the Node driver, the session and engine under it, the Maildir
  // store) and the file system.
  const SERVER_CLASSES = ['Pop3Server', 'Pop3ServerSession', 'Pop3ServerEngine', 'MaildirStore'];
  const isFileSystem = (specifier: string) => /^(node:)?fs(\/|$)/.test(specifier);

  it('was built', () => {
    expect(built, 'dist/node.js is missing: run `npm run build` before the tests').toBe(true);
  });

  describe.each([
    { client: 'node.js', server: 'server.js' },
    { client: 'node.cjs', server: 'server.cjs' },
  ])('$client and $server', ({ client, server }) => {
    it.runIf(built)(`${client} loads the client and nothing of the server`, () => {
      const graph = staticGraph(client);
      // The walk got past the entry file, or the checks below would prove nothing.
      expect(graph.classes).toContain('Pop3Client');
      expect(SERVER_CLASSES.filter((name) => graph.classes.has(name))).toEqual([]);
      expect([...graph.externals].filter(isFileSystem)).toEqual([]);
    });

    it.runIf(built)(`${server} loads the server`, () => {
      const graph = staticGraph(server);
      expect(SERVER_CLASSES.filter((name) => !graph.classes.has(name))).toEqual([]);
      expect([...graph.externals].filter(isFileSystem)).not.toEqual([]);
    });
  });
});
