#!/usr/bin/env node
// npm run bench: runs every benchmark — the native kernel benchmarks built by CMake into build/
// (gemm_bench, gmp_bench, conv_bench, ...) and the JS ones in bench/*.js — on this machine.
// Pass --quick for short runs, --write to update bench/RESULTS.md where a benchmark supports it.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const build = path.join(root, 'build');
let failed = 0;

const natives = fs.existsSync(build) ? fs.readdirSync(build).filter((f) => /_bench$/.test(f)) : [];
if (!natives.length) console.log('no native benchmarks in build/ (run `npm install` first)');
for (const exe of natives.sort()) {
  console.log(`\n== ${exe}`);
  const r = spawnSync(path.join(build, exe), args.includes('--quick') ? ['--quick'] : [], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed++;
}
for (const js of fs.readdirSync(path.join(root, 'bench')).filter((f) => f.endsWith('_bench.js')).sort()) {
  console.log(`\n== bench/${js}`);
  const r = spawnSync(process.execPath, [path.join(root, 'bench', js), ...args], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
