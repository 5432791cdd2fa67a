'use strict';
// I. cdktf (and cdktn) records a fully formatted stack trace ("creationStack") for every token and
// complex list it creates, only to show it if that object later fails to resolve. The capture
// stays; formatting (the costly part) is deferred until someone reads the lines.
const path = require('path');

// The framework's module whose exports deferStackTraces() edits (hook.js matches the file name).
const STACK_TRACE_TAIL = path.join('lib', 'tokens', 'private', 'stack-trace.js');

function lazyLines(holder) {
  let lines = null;
  const real = () => lines || (lines = holder.stack
    ? holder.stack.split('\n').slice(1).map((s) => s.replace(/^\s*at\s+/, ''))
    : []);
  return new Proxy([], {
    get: (_t, p) => {
      const a = real();
      const v = Reflect.get(a, p, a);
      return typeof v === 'function' ? v.bind(a) : v;
    },
    has: (_t, p) => Reflect.has(real(), p),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_t, p) => {
      const d = Reflect.getOwnPropertyDescriptor(real(), p);
      if (d) d.configurable = p !== 'length';
      return d;
    },
    set: (_t, p, v) => Reflect.set(real(), p, v),
  });
}

// CDK Terrain's module also exports captureCreationStack(), which the framework calls for every
// creation stack: the original, checked by its text (a switch, then its own module's
// captureStackTrace, which no export replacement reaches), is replaced by the same switch
// followed by the deferred capture.
const CREATION_STACK_SWITCH = 'const flag = process.env.CDKTN_DISABLE_CREATION_STACK;';

function knownCapture(fn) {
  return typeof fn === 'function' &&
    /Error\.captureStackTrace\(object, below\)/.test(String(fn)) &&
    /\.slice\(1\)/.test(String(fn));
}

function knownCreationStack(fn) {
  const text = String(fn);
  return typeof fn === 'function' && text.includes(CREATION_STACK_SWITCH) &&
    text.includes('if (flag === "true" || flag === "1") {') &&
    text.includes('return captureStackTrace(captureCreationStack);');
}

// exp: the exports of the framework's stack-trace module, right after it ran: cdktf's
// (captureStackTrace) or cdktn's (captureStackTrace, captureCreationStack). Replaced in place
// if they are the ones this was written for; otherwise left alone with a warning.
function deferStackTraces(exp, filename) {
  const keys = exp ? Object.keys(exp).join(',') : '';
  const known = exp && knownCapture(exp.captureStackTrace) && (
    keys === 'captureStackTrace' ||
    (keys === 'captureStackTrace,captureCreationStack' &&
      knownCreationStack(exp.captureCreationStack)));
  if (!known) {
    process.stderr.write('mlops-fast-synth: ' + filename +
      ' is not the stack-trace module fast_synth knows; stack traces stay eager\n');
    return;
  }
  exp.captureStackTrace = function captureStackTrace(below) {
    below = below || captureStackTrace;
    const holder = {};
    const previousLimit = Error.stackTraceLimit;
    try {
      Error.stackTraceLimit = Number.MAX_SAFE_INTEGER;
      Error.captureStackTrace(holder, below);
    } finally {
      Error.stackTraceLimit = previousLimit;
    }
    return lazyLines(holder);
  };
  if (keys === 'captureStackTrace') return;
  const capture = exp.captureStackTrace;
  exp.captureCreationStack = function captureCreationStack() {
    const flag = process.env.CDKTN_DISABLE_CREATION_STACK;
    if (flag === 'true' || flag === '1') {
      return [];
    }
    return capture(captureCreationStack);
  };
}

module.exports = { STACK_TRACE_TAIL, deferStackTraces };
