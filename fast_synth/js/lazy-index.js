'use strict';
// B. Lazy provider index. The jsii kernel require()s a provider package by name, which resolves
// to its package.json "main", lib/index.js: ~1,500 eager require()s of compiled resource
// modules. The same tarball ships lib/lazy-index.js: the same export names, each a getter that
// require()s its module on first use. lazyIndexResolver() answers, for the packages it knows
// only, lib/lazy-index.js instead of lib/index.js, after checking the package's name and
// version and that lazy-index.js exports exactly the names index.js exports (each as a plain
// require('./<dir>') getter). Otherwise it keeps lib/index.js and prints a warning.
// Two generations of index.js are known: cdktf's (`exports.x = require("./x");`) and CDK
// Terrain's (`exports.x = __importStar(require("./x/index"));`). TypeScript's __importStar
// returns an ES module (`__esModule`, which every compiled resource module sets) unchanged, so
// the getter's require('./x') is the same module object; for anything else it would return a
// namespace whose getters read that very module, so the kernel, which only walks names, sees
// the same classes. The helper's text is checked (IMPORT_STAR_ESM) before that form is accepted.
const fs = require('fs');
const path = require('path');

const LAZY_LINE = new RegExp(
  "^Object\\.defineProperty\\(exports, '([A-Za-z0-9_$]+)', " +
  "\\{ get: function \\(\\) \\{ return require\\('(\\.\\/[A-Za-z0-9_.-]+)'\\); \\} \\}\\);$");
const EAGER_LINE = /^exports\.([A-Za-z0-9_$]+) = require\("(\.\/[A-Za-z0-9_.-]+)"\);$/;
const EAGER_STAR_LINE =
  /^exports\.([A-Za-z0-9_$]+) = __importStar\(require\("(\.\/[A-Za-z0-9_.-]+)\/index"\)\);$/;
const IMPORT_STAR_ESM = 'if (mod && mod.__esModule) return mod;';
const ES_MODULE_LINE = 'Object.defineProperty(exports, "__esModule", { value: true });';

function warn(msg) {
  process.stderr.write('mlops-fast-synth: ' + msg + '; using lib/index.js\n');
}

function exportsOf(file, res, strict) {
  const out = new Map();
  for (const raw of fs.readFileSync(file, 'utf-8').split('\n')) {
    const line = raw.trim();
    const m = res.map((re) => re.exec(line)).find(Boolean);
    if (m) { out.set(m[1], m[2]); continue; }
    if (!strict || line === '' || line === '"use strict";' || line === ES_MODULE_LINE ||
        line.startsWith('//') || line.startsWith('/*') || line.startsWith('*')) continue;
    return null;  // anything else in lazy-index.js: not the file we know
  }
  return out;
}

// The exports of index.js: both forms are read only when the __importStar helper is the one
// that returns ES modules unchanged.
function eagerExportsOf(file) {
  const star = fs.readFileSync(file, 'utf-8').includes(IMPORT_STAR_ESM);
  return exportsOf(file, star ? [EAGER_LINE, EAGER_STAR_LINE] : [EAGER_LINE], false);
}

// packages: {assembly name: version}. Returns (request, resolved) => the file to load for a
// request of one of those packages that Node resolved to `resolved`.
function lazyIndexResolver(packages) {
  const decided = new Map();
  return function lazyIndexFor(request, resolved) {
    if (decided.has(resolved)) return decided.get(resolved);
    let result = resolved;
    try {
      const libDir = path.dirname(resolved);
      const pkgDir = path.dirname(libDir);
      const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf-8'));
      const lazy = path.join(libDir, 'lazy-index.js');
      if (path.basename(resolved) !== 'index.js' || path.basename(libDir) !== 'lib') {
        warn(`${request}: main is ${resolved}, not lib/index.js`);
      } else if (pkg.name !== request || pkg.version !== packages[request]) {
        warn(`${request}: found ${pkg.name}@${pkg.version}, expected version ${packages[request]}`);
      } else if (!fs.existsSync(lazy)) {
        warn(`${request}: no lib/lazy-index.js`);
      } else {
        const eager = eagerExportsOf(resolved);
        const lazyExports = exportsOf(lazy, [LAZY_LINE], true);
        const same = lazyExports !== null && eager.size > 0 && eager.size === lazyExports.size &&
          [...eager].every(([k, v]) => lazyExports.get(k) === v);
        if (same) result = lazy;
        else warn(`${request}: lib/lazy-index.js does not export the same modules as lib/index.js`);
      }
    } catch (e) {
      warn(`${request}: ${e && e.message}`);
    }
    decided.set(resolved, result);
    return result;
  };
}

module.exports = { lazyIndexResolver };
