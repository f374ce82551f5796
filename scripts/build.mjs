// `npm run build` (after `tsc --noEmit`): bundles bot/main.ts into dist/bot/main.js with esbuild.
//
// Why a bundle: start-up of the tsc output was almost all module loading (CJS compile, cjs-module-lexer
// for ESM importing CJS, stat/readFile/package.json lookups over ~1,500 files). One ESM file with its
// dependencies inlined starts in about half the time. `splitting` keeps everything behind a dynamic
// import() (worker adapters, BullMQ, AWS SDK clients, Secrets Manager) in dist/chunks/, loaded only by
// a process that needs it, so a CHATOPS_ROLE=bot process never reads the AWS SDK, openpgp or nodemailer.
//
// node_modules must still sit next to dist/ at run time (the Docker image keeps `npm ci --omit=dev`):
// the packages in EXTERNAL are loaded from there, and so is anything a package require()s by a name
// computed at run time (optional peers such as pg or @valkey/valkey-glide in BullMQ).
//
//   node scripts/build.mjs [--outdir dist] [--metafile <path>]
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const { values: flags } = parseArgs({
  options: { outdir: { type: 'string', default: 'dist' }, metafile: { type: 'string' } },
});
const OUTDIR = resolve(ROOT, flags.outdir);

// Only needed by receivers the bot does not use unless configured: Socket Mode (SLACK_APP_TOKEN;
// @slack/socket-mode pulls undici and ws), Bolt's ExpressReceiver (express, body-parser, mime-db) and
// OAuth installs (@slack/oauth, jsonwebtoken). `patchDeps` below defers Bolt's require() of them to
// first use, and keeping them out of the bundle means their code is not even parsed at start.
// Measured (medians of 10 alternating starts, 2 shared cores): start-to-ready 347 ms without this,
// 249 ms with it, bare Bolt 304 ms in the same run; main.js shrinks from 2.7 MB to 1.5 MB.
const EXTERNAL = ['@slack/socket-mode', 'express', '@slack/oauth'];

// Source patches to dependencies, applied as the bundle is built. Exact text: when an upgrade changes
// it, the build fails here instead of silently shipping the unpatched code. The hidden-class patches
// keep the line count, so the source map still points at the right lines.
//
// 1. Lazy loading (`__lazy`). Bolt requires every receiver (and @slack/oauth) at the top of index.js,
//    App.js and HTTPReceiver.js; these turn those requires into getters that load on first use.
// 2. One hidden class for all. V8 in Node 20 gives a new hidden class (Map) to every object built as
//    `{ ...a, newKey }` (a spread, then a key the source lacks) and to every object given its own
//    accessor with Object.defineProperty. Bolt does the first three times per request (context,
//    middleware args, listener args) and ioredis the second for every pipeline. Those maps live in
//    old space and kept each request's garbage alive through young-generation GCs: bare Bolt keeps
//    about 1.5 MB through each scavenge at one request at a time (3-5 ms pauses), and the bot kept
//    2 MB. With these patches (and the same care in our code) it keeps about 15 KB and pauses about
//    1.5 ms (--trace-gc-nvp, new_space_survived; found with --log-maps). Object.assign onto a fresh
//    {} copies the same own enumerable properties; only a `__proto__` key would differ, and none of
//    these objects has one.
// 3. Signature check. Bolt compares the request's signature with tsscmp, which draws random bytes
//    (a getrandom syscall) and computes two more HMACs per request, about 28 µs of the bot's CPU
//    per command. Node's crypto.timingSafeEqual is the same constant-time comparison; only the
//    length is compared first, and every valid signature has the same length ("v0=" + 64 hex).
const LAZY_HELPER =
  'const __lazy = (load) => { let m; return new Proxy({}, { get: (_, k) => (m ??= load())[k] }); };';
const PATCHES = {
  '@slack/bolt': {
    'dist/index.js': [
      [
        'const ExpressReceiver_1 = __importDefault(require("./receivers/ExpressReceiver"));\nexports.ExpressReceiver = ExpressReceiver_1.default;',
        'Object.defineProperty(exports, "ExpressReceiver", { enumerable: true, get: () => require("./receivers/ExpressReceiver").default });',
      ],
      [
        'const SocketModeReceiver_1 = __importDefault(require("./receivers/SocketModeReceiver"));\nexports.SocketModeReceiver = SocketModeReceiver_1.default;',
        'Object.defineProperty(exports, "SocketModeReceiver", { enumerable: true, get: () => require("./receivers/SocketModeReceiver").default });',
      ],
      ['var oauth_1 = require("@slack/oauth");', 'var oauth_1 = __lazy(() => require("@slack/oauth"));'],
    ],
    'dist/App.js': [
      [
        'const SocketModeReceiver_1 = __importDefault(require("./receivers/SocketModeReceiver"));',
        'const SocketModeReceiver_1 = __lazy(() => __importDefault(require("./receivers/SocketModeReceiver")));',
      ],
      [
        '        const context = {\n            ...authorizeResult,\n            ...event.customProperties,\n',
        '        const context = Object.assign({},\n            authorizeResult,\n            event.customProperties, {\n',
      ],
      [
        '            retryReason: event.retryReason,\n        };',
        '            retryReason: event.retryReason,\n        });',
      ],
      [
        '                    async () => listener({\n                        ...listenerArgs,\n',
        '                    async () => listener(Object.assign({},\n                        listenerArgs, {\n',
      ],
      [
        '                        next: () => { },\n                    }));',
        '                        next: () => { },\n                    })));',
      ],
      [
        'const clientOptionsCopy = { ...this.clientOptions };',
        'const clientOptionsCopy = Object.assign({}, this.clientOptions);',
      ],
    ],
    'dist/middleware/process.js': [
      [
        '            return middleware[toCallMiddlewareIndex]({\n                ...initialArgs,\n',
        '            return middleware[toCallMiddlewareIndex](Object.assign({},\n                initialArgs, {\n',
      ],
      ['                logger,\n            });', '                logger,\n            }));'],
    ],
    'dist/receivers/HTTPReceiver.js': [
      ['const oauth_1 = require("@slack/oauth");', 'const oauth_1 = __lazy(() => require("@slack/oauth"));'],
    ],
    'dist/receivers/verify-request.js': [
      [
        'const tsscmp_1 = __importDefault(require("tsscmp"));',
        'const tsscmp_1 = { default: (a, b) => { const x = Buffer.from(a), y = Buffer.from(b); return x.length === y.length && (0, node_crypto_1.timingSafeEqual)(x, y); } };',
      ],
    ],
  },
  ioredis: {
    'built/Pipeline.js': [
      [
        '        const _this = this;\n        Object.defineProperty(this, "length", {\n            get: function () {\n                return _this._queue.length;\n            },\n        });\n    }',
        '    }\n    get length() {\n        return this._queue.length;\n    }\n\n\n',
      ],
    ],
  },
};
const resolveHere = createRequire(join(ROOT, 'package.json')).resolve;
const PATCH_DIRS = Object.keys(PATCHES).map((pkg) => [pkg, dirname(resolveHere(`${pkg}/package.json`))]);

/** @type {import('esbuild').Plugin} */
const patchDeps = {
  name: 'patch-deps',
  setup(b) {
    const seen = new Set();
    const names = Object.keys(PATCHES).map((pkg) => pkg.replace('/', String.raw`[\\/]`));
    const filter = new RegExp(String.raw`[\\/]node_modules[\\/](${names.join('|')})[\\/].*\.js$`);
    b.onLoad({ filter, namespace: 'file' }, (args) => {
      const hit = PATCH_DIRS.find(([, dir]) => args.path.startsWith(dir + sep));
      if (!hit) return undefined;
      const [pkg, dir] = hit;
      const rel = relative(dir, args.path).split(sep).join('/');
      const patches = PATCHES[pkg][rel];
      if (!patches) return undefined;
      seen.add(`${pkg}/${rel}`);
      let text = readFileSync(args.path, 'utf8');
      for (const [from, to] of patches) {
        if (!text.includes(from)) throw new Error(`${pkg}/${rel} changed; update PATCHES: ${from}`);
        text = text.replace(from, to);
      }
      // Prepended on the first line so the source map's line numbers still match.
      return { contents: (text.includes('__lazy(') ? LAZY_HELPER : '') + text, loader: 'js' };
    });
    b.onEnd((result) => {
      if (result.errors.length) return;
      const missing = Object.entries(PATCHES)
        .flatMap(([pkg, files]) => Object.keys(files).map((rel) => `${pkg}/${rel}`))
        .filter((f) => !seen.has(f));
      if (missing.length) throw new Error(`patch-deps: ${missing.join(', ')} not bundled any more`);
    });
  },
};

// CommonJS code in an ESM bundle has no __dirname/__filename. Some dependencies use them to find their
// own files: ioredis reads its package.json (the lib-ver it reports to Redis), msgpackr-extract finds
// its native addon (BullMQ), pino/thread-stream find their worker for transports. This gives each such
// module its real path in node_modules, relative to the output file (every output is one directory below
// OUTDIR: bot/ or chunks/), so they behave as they did unbundled.
const OUT_SUBDIR = join(OUTDIR, 'chunks');
const packageTypes = new Map();
/** True when Node would load `file` as CommonJS (nearest package.json has no "type": "module"). */
function isCommonJs(file) {
  if (file.endsWith('.cjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    let type = packageTypes.get(dir);
    if (type === undefined) {
      try {
        type = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).type ?? 'commonjs';
      } catch {
        type = null;
      }
      packageTypes.set(dir, type);
    }
    if (type) return type !== 'module';
  }
  return true;
}
/** @type {import('esbuild').Plugin} */
const cjsPaths = {
  name: 'cjs-paths',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.c?js$/, namespace: 'file' }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!/\b__(dirname|filename)\b/.test(text) || !isCommonJs(args.path)) return undefined;
      const rel = relative(OUT_SUBDIR, args.path).split(sep).join('/');
      const shim = `var __filename = __bundlePath(${JSON.stringify(rel)}), __dirname = __bundleDirname(__filename);`;
      return { contents: shim + text, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

// With `splitting`, esbuild turns `await import('bullmq')` of a CommonJS package into a chunk whose only
// export is `default` (module.exports), so `const { Queue } = await import('bullmq')` gets undefined
// (evanw/esbuild#3245, still open). Node gives named exports too, and the sources are written for Node.
// This points each dynamic import of a CommonJS module at a small ESM facade that exports `default` and
// every name module.exports has (read by requiring the module here, at build time), like Node does.
const NAMESPACE = 'cjs-namespace';
const requireForNames = createRequire(import.meta.url);
/** @type {import('esbuild').Plugin} */
const cjsDynamicImports = {
  name: 'cjs-dynamic-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.kind !== 'dynamic-import' || args.pluginData === NAMESPACE) return undefined;
      const resolved = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: NAMESPACE,
      });
      if (resolved.errors.length || resolved.external || !isCommonJs(resolved.path)) return resolved;
      // ESM syntax in a package Node would treat as CommonJS: a "module"/exports build only bundlers read.
      if (/^\s*(import|export)\b[\s{*]/m.test(readFileSync(resolved.path, 'utf8'))) return resolved;
      return { path: resolved.path, namespace: NAMESPACE };
    });
    b.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
      const names = Object.keys(requireForNames(args.path)).filter(
        (n) => n !== 'default' && n !== '__esModule',
      );
      // String export names, so no export can clash with a local name or a reserved word.
      const lines = [`const __cjs = require(${JSON.stringify(args.path)});`, 'export default __cjs;'];
      names.forEach((n, i) => {
        lines.push(
          `const __cjs${i} = __cjs[${JSON.stringify(n)}]; export { __cjs${i} as ${JSON.stringify(n)} };`,
        );
      });
      return { contents: lines.join('\n'), loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

// Bundled CommonJS require()s Node built-ins (and optional peers, by name) at run time; ESM has no
// `require`, so each output file gets one, plus the helpers the cjs-paths shim calls.
const BANNER = [
  "import { createRequire as __createRequire } from 'node:module';",
  "import { dirname as __bundleDirname, join as __bundleJoin } from 'node:path';",
  "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
  'const require = __createRequire(import.meta.url);',
  'const __bundlePath = (rel) => __bundleJoin(__bundleFileURLToPath(new URL(".", import.meta.url)), rel);',
].join(' ');

rmSync(OUTDIR, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { 'bot/main': 'bot/main.ts' },
  outdir: OUTDIR,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  plugins: [patchDeps, cjsPaths, cjsDynamicImports],
  banner: { js: BANNER },
  // Identifiers stay as written: stack traces and the constructor names some libraries check still read.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
if (flags.metafile) writeFileSync(resolve(flags.metafile), JSON.stringify(result.metafile));

// Every dynamic import of a CommonJS module must have gone through the facade.
for (const [file, input] of Object.entries(result.metafile.inputs)) {
  for (const imp of input.imports) {
    if (imp.kind === 'dynamic-import' && result.metafile.inputs[imp.path]?.format === 'cjs') {
      throw new Error(
        `${file}: import('${imp.original}') of CommonJS bypassed the cjs-dynamic-imports facade`,
      );
    }
  }
}

// EXTERNAL packages are loaded by Node from node_modules above the output: fail now, not at run time.
const requireFromOut = createRequire(join(OUTDIR, 'bot', 'main.js'));
for (const name of EXTERNAL) requireFromOut.resolve(name);

const main = result.metafile.outputs[relative(ROOT, join(OUTDIR, 'bot/main.js')).split(sep).join('/')];
process.stdout.write(
  `built ${relative(ROOT, OUTDIR)}/bot/main.js (${Math.round((main?.bytes ?? 0) / 1024)} KiB) and ` +
    `${Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')).length - 1} lazy chunks\n`,
);
