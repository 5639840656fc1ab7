/** The benchmarks' analysis tools run and account for the step consistently (no timing asserted). */
import { expect } from 'chai';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const ROOT = path.resolve(__dirname, '..');

function breakdown(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bench', 'mlp_step_breakdown.js'), ...args], { encoding: 'utf8', cwd: ROOT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bench/mlp_step_breakdown.js', function () {
  it('pairs SP and GmP call by call, and each phase contains its native calls', function () {
    const r = breakdown(['--steps', '40', '--dtype', 'float64', '--rows', '37', '--features', '5']);
    expect(r.status, r.stderr).to.equal(0);
    const rows = new Map<string, number[]>();
    for (const line of r.stdout.split('\n')) {
      const m = /^\| (.+?) \| (-?[\d.]+) \| (-?[\d.]+) \| (-?[\d.]+) \|$/.exec(line);
      if (m) rows.set(m[1], [Number(m[2]), Number(m[3]), Number(m[4])]);
    }
    const calls = [...rows.keys()].filter((k) => /^\d+\. (forward|loss|backward|optimizer step): [a-zA-Z /]+$/.test(k));
    // hidden and head forward, loss forward, the seed gradient, loss backward, head and hidden
    // backward, one Adam call for every parameter
    expect(calls).to.have.length(8);
    expect(calls[0]).to.equal('1. forward: gmpDenseForward / gmpDenseForwardTheta');
    expect(calls[7]).to.equal('8. optimizer step: adamStepMany');
    // A phase's time minus the native calls made inside it is never negative, step by step, so
    // neither are the medians; a call attributed to the wrong phase drives one of them below 0.
    for (const phase of ['zeroGrad', 'forward', 'loss', 'backward', 'optimizer step']) {
      const rest = rows.get(`${phase}: the rest (JavaScript, GC)`);
      expect(rest, phase).to.not.equal(undefined);
      expect(rest![0], phase).to.be.at.least(0);
      expect(rest![1], phase).to.be.at.least(0);
    }
    const native = rows.get('native calls, together')!, step = rows.get('**step**')!;
    expect(native[0]).to.be.at.most(step[0]);
    expect(native[1]).to.be.at.most(step[1]);
    expect(r.stdout).to.match(/GmP\/SP over paired steps: median \d\.\d{3}/);
  });

  it('refuses a bad argument with a message', function () {
    const r = breakdown(['--dtype', 'float16']);
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.contain('--dtype must be float32 or float64');
    const s = breakdown(['--steps', '0']);
    expect(s.status).to.not.equal(0);
    expect(s.stderr).to.contain('--steps must be a positive integer');
    const u = breakdown(['--stepz', '40']);
    expect(u.status).to.not.equal(0);
    expect(u.stderr).to.contain("Unknown option '--stepz'");
  });
});
