'use strict';
// The values only the Python side knows, for the other scripts of this directory.
//
// fast_synth/node_hooks.py (write_node_scripts) copies every .js file of fast_synth/js/ into a
// directory beside jsii's embedded runtime and writes config.json next to them:
//   core               the framework's npm package, cdktf or cdktn (CDK Terrain): the package
//                      whose resolve.js (J) and stack-trace.js (I) the hook edits
//   packages           {assembly name: version}: the provider packages whose lib/lazy-index.js
//                      the hook may use (B), with the version it was verified against
//   runtime            path of jsii's bin/jsii-runtime.js (the relay, E's fallback)
//   program            path of jsii's lib/program.js to run in this process (E), or null to
//                      keep jsii's two processes
//   kernelEagerAssert  the kernel's assertion whose message entry.js makes lazy (L)
const fs = require('fs');
const path = require('path');

const FILE = path.join(__dirname, 'config.json');

module.exports = Object.freeze(JSON.parse(fs.readFileSync(FILE, 'utf-8')));
