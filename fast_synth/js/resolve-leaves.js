'use strict';
// J. cdktf's resolve() walks every synthesized value three times per synth (preparing run,
// per-element run, whole-stack run). For each object key and each leaf value it builds a
// resolution context (two closures, an options copy, a prefix copy) and runs up to three
// regular expressions, though a plain string, a boolean, null or undefined resolves to itself.
// The edits below return such leaves directly at the three call sites, after the very tests the
// original would run: no token marker, no number-token shape, not a map-token placeholder, and
// within the depth limit. Everything else takes the original path unchanged.
const path = require('path');

// The cdktf module whose source fastResolveSource() edits (hook.js matches the file name).
const RESOLVE_TAIL = path.join('lib', 'tokens', 'private', 'resolve.js');
const RESOLVE_ANCHOR = 'const tokenMap = token_map_1.TokenMap.instance();';
// Source text added to resolve.js after RESOLVE_ANCHOR (it runs in that module's scope).
const RESOLVE_HELPERS = `
function __mlopsPlainString(s) {
    return typeof s === "string" &&
        s.indexOf(encoding_1.BEGIN_STRING_TOKEN_MARKER) === -1 &&
        s.indexOf(encoding_1.BEGIN_LIST_TOKEN_MARKER) === -1 &&
        s !== token_1.Token.STRING_MAP_TOKEN_VALUE &&
        s !== token_1.Token.ANY_MAP_TOKEN_VALUE &&
        !encoding_1.TokenString.forNumbers(s).test();
}
function __mlopsLeaf(v) {
    return v === undefined || v === null || typeof v === "boolean" || __mlopsPlainString(v);
}
`;
// [text of cdktf's resolve.js, its replacement]: each text must occur exactly once.
const RESOLVE_EDITS = [
  [RESOLVE_ANCHOR, RESOLVE_ANCHOR + RESOLVE_HELPERS],
  ['const resolvedKey = makeContext()[0].resolve(key);',
   'const resolvedKey = __mlopsPlainString(key) ? key : makeContext()[0].resolve(key);'],
  ['const value = makeContext(key)[0].resolve(obj[key]);',
   'const __mlopsValue = obj[key];\n' +
   '        const value = prefix.length < 200 && __mlopsLeaf(__mlopsValue) ? __mlopsValue : ' +
   'makeContext(key)[0].resolve(__mlopsValue);'],
  ['.map((x, i) => makeContext(`${i}`)[0].resolve(x))',
   '.map((x, i) => (prefix.length < 200 && __mlopsLeaf(x) ? x : ' +
   'makeContext(`${i}`)[0].resolve(x)))'],
];

// The edited source of cdktf's resolve.js, or `content` unchanged (with a warning) if any
// edit's text does not occur exactly once.
function fastResolveSource(content, filename) {
  let out = content;
  for (const [needle, replacement] of RESOLVE_EDITS) {
    if (out.split(needle).length !== 2) {
      process.stderr.write('mlops-fast-synth: ' + filename +
        ' is not the resolve module fast_synth knows; resolution stays as it is\n');
      return content;
    }
    out = out.replace(needle, () => replacement);
  }
  return out;
}

module.exports = { RESOLVE_TAIL, RESOLVE_EDITS, fastResolveSource };
