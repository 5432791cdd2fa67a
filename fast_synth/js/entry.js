'use strict';
// Started by the jsii Python runtime in place of its embedded bin/jsii-runtime.js
// (fast_synth/node_hooks.py returns this file's copy from _NodeProcess._jsii_runtime()).
//
// E. One node process instead of two. bin/jsii-runtime.js only relays: it spawns a second node
// running lib/program.js (the kernel) with an extra pipe for the protocol, and wraps the
// kernel's console output into {"stdout"|"stderr": base64} lines on stderr. This script runs
// that same program.js here instead, on stdin/stdout (the one textual change: NEEDLE, checked
// to occur exactly once), with process.stdout/process.stderr replaced by streams that write
// exactly those wrapped lines, after loading hook.js (B, I, J). If program.js does not look as
// expected, config.program is null, or JSII_DEBUG is set, it falls back to the relay (plus
// hook.js in the kernel child).
// L. Also makes the message of the kernel's type assertion lazy (see below).
const fs = require('fs');
const path = require('path');
const Module = require('module');
const config = require('./config.js');

const HOOK = path.join(__dirname, 'hook.js');
const RUNTIME = config.runtime;
const PROGRAM = config.program;
const NEEDLE = 'readFD:3,writeFD:3';
// L. The kernel asserts that every value it (de)serializes has type information, with a message
// built eagerly: util.inspect() of the type on every call, only to be dropped when the assertion
// holds (always, unless the kernel is broken). Evaluate the message only when it fails.
const EAGER_ASSERT = config.kernelEagerAssert;

function writeAll(fd, text) {
  const buf = Buffer.from(text, 'utf-8');
  let off = 0;
  while (off < buf.length) {
    try { off += fs.writeSync(fd, buf, off); } catch (e) { if (e.code !== 'EAGAIN') throw e; }
  }
}
// The Python side reads stderr lines of {"stdout"|"stderr": base64}, as bin/jsii-runtime.js
// writes them for its child's output.
function emit(kind, chunk, encoding) {
  const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, encoding);
  writeAll(2, JSON.stringify({ [kind]: b.toString('base64') }) + '\n');
}
function relay(reason) {
  if (reason) emit('stderr', 'mlops-fast-synth: ' + reason + '; kernel runs in a child process\n');
  process.execArgv.push('--require', HOOK);
  require(RUNTIME);
}

let source = null;
let reason = null;
if (process.env.JSII_DEBUG || !PROGRAM) {
  reason = null;  // keep jsii's own process layout when debugging jsii
} else {
  try {
    source = fs.readFileSync(PROGRAM, 'utf-8');
  } catch (e) {
    reason = 'cannot read ' + PROGRAM;
  }
  if (source !== null && source.split(NEEDLE).length !== 2) {
    source = null;
    reason = 'unexpected jsii kernel program (' + PROGRAM + ')';
  }
}
if (source === null) {
  relay(reason);
} else {
  const { Writable } = require('stream');
  const stream = (kind, fd) => {
    const w = new Writable({ write(chunk, enc, cb) { emit(kind, chunk, enc); cb(); } });
    w.fd = fd;
    w.isTTY = false;
    return w;
  };
  const out = stream('stdout', 1);
  const err = stream('stderr', 2);
  const std = (get) => ({ configurable: true, enumerable: true, get });
  Object.defineProperty(process, 'stdout', std(() => out));
  Object.defineProperty(process, 'stderr', std(() => err));
  require(HOOK);
  const program = new Module(PROGRAM, module);
  program.filename = PROGRAM;
  program.paths = Module._nodeModulePaths(path.dirname(PROGRAM));
  let kernel = source.replace(NEEDLE, 'readFD:0,writeFD:1');
  if (kernel.split(EAGER_ASSERT).length === 2) {
    kernel = kernel.replace(EAGER_ASSERT, () => 'null!=e||' + EAGER_ASSERT);
  } else {
    emit('stderr', 'mlops-fast-synth: the kernel type assertion is not the one expected; ' +
      'it stays eager\n');
  }
  program._compile(kernel, PROGRAM);
}
