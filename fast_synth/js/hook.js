'use strict';
// Loaded into the jsii kernel's node process before the kernel (entry.js requires it; with
// jsii's relay it is given to the kernel child with --require). It installs B, I and J by
// wrapping two functions of Node's module loader:
//   Module._resolveFilename  B: the provider packages of config.packages resolve to
//                            lib/lazy-index.js (lazy-index.js)
//   Module.prototype._compile  J: the framework's (config.core: cdktf or cdktn) resolve.js is
//                            compiled with its leaves fast path (resolve-leaves.js); I: its
//                            stack-trace module formats its traces only when read
//                            (stack-traces.js)
// Every edit checks the file it edits and otherwise leaves it alone with a
// "mlops-fast-synth:" line on stderr.
const Module = require('module');
const path = require('path');
const config = require('./config.js');
const { lazyIndexResolver } = require('./lazy-index.js');
const { STACK_TRACE_TAIL, deferStackTraces } = require('./stack-traces.js');
const { RESOLVE_TAIL, fastResolveSource } = require('./resolve-leaves.js');

const PACKAGES = config.packages || {};
const CORE = config.core || 'cdktf';
const lazyIndexFor = lazyIndexResolver(PACKAGES);

function isCdktfFile(filename, tail) {
  return typeof filename === 'string' && filename.endsWith(path.sep + tail) &&
    filename.includes(path.sep + CORE + path.sep);
}

const originalCompile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  if (isCdktfFile(filename, RESOLVE_TAIL)) content = fastResolveSource(content, filename);
  const result = originalCompile.call(this, content, filename);
  if (isCdktfFile(filename, STACK_TRACE_TAIL)) deferStackTraces(this.exports, filename);
  return result;
};

const originalResolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const resolved = originalResolve.call(this, request, ...rest);
  if (typeof request === 'string' && Object.prototype.hasOwnProperty.call(PACKAGES, request)) {
    return lazyIndexFor(request, resolved);
  }
  return resolved;
};
