'use strict';
// I. cdktf records a fully formatted stack trace ("creationStack") for every token and
// complex list it creates, only to show it if that object later fails to resolve. The capture
// stays; formatting (the costly part) is deferred until someone reads the lines.
const path = require('path');

// The cdktf module whose exports deferStackTraces() edits (hook.js matches the file name).
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

// exp: the exports of cdktf's stack-trace module, right after it ran. Replaced in place if they
// are the ones this was written for; otherwise left alone with a warning.
function deferStackTraces(exp, filename) {
  const original = exp && exp.captureStackTrace;
  if (typeof original !== 'function' || Object.keys(exp).join(',') !== 'captureStackTrace' ||
      !/Error\.captureStackTrace\(object, below\)/.test(String(original)) ||
      !/\.slice\(1\)/.test(String(original))) {
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
}

module.exports = { STACK_TRACE_TAIL, deferStackTraces };
