/** A cli-progress bar behind the experiments' Progress interface; silent when disabled. */
import * as cliProgress from 'cli-progress';
import type { Progress } from '../experiments/common';

export function makeProgress(enabled: boolean): Progress {
  if (!enabled) return {};
  let bar: cliProgress.SingleBar | null = null;
  return {
    start(label, total) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        { format: `${label.padEnd(28)} [{bar}] {percentage}% | {value}/{total} | {info} | ETA {eta_formatted}`, hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { info: '' });
    },
    tick(value, info) {
      bar?.update(value, { info: info ? Object.entries(info).map(([k, v]) => `${k} ${v}`).join(' ') : '' });
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
