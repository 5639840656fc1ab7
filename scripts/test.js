#!/usr/bin/env node
// The project's test command (npm test): the C++ kernel tests through ctest, then the mocha suite;
// prints one closing `N passed, N failed, N skipped` line for both.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
let passed = 0, failed = 0, skipped = 0;

const build = path.join(root, 'build');
if (fs.existsSync(path.join(build, 'CTestTestfile.cmake'))) {
  // -V shows each family's driver output (prefixed "N: "); print the verdict lines only.
  const r = spawnSync('ctest', ['--test-dir', build, '-V'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = r.stdout || '';
  for (const line of out.split('\n'))
    if (/^\d+: (FAIL|SKIP|ok)|^\s*\d+\/\d+ Test|tests passed|^\d+: \s+FAIL/.test(line)) console.log(line);
  process.stderr.write(r.stderr || '');
  // The driver prints one `N passed, N failed, N skipped` line per family.
  for (const m of out.matchAll(/^\d+: (\d+) passed, (\d+) failed, (\d+) skipped$/gm)) {
    passed += +m[1]; failed += +m[2]; skipped += +m[3];
  }
  if (r.status !== 0 && failed === 0) failed += 1;
} else {
  console.log('ctest: no build/ directory (run `npm install` first); kernel tests not run');
  failed += 1;
}

const counts = path.join(os.tmpdir(), `gmpnn-mocha-${process.pid}.json`);
const mocha = spawnSync(process.execPath, [require.resolve('mocha/bin/mocha.js'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, GMPNN_TEST_COUNTS: counts },
});
if (fs.existsSync(counts)) {
  const c = JSON.parse(fs.readFileSync(counts, 'utf8'));
  passed += c.passed; failed += c.failed; skipped += c.skipped;
  fs.unlinkSync(counts);
} else {
  failed += 1;
}
if (mocha.status !== 0 && failed === 0) failed += 1;
console.log(`\ntotal: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
