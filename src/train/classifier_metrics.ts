/** Classification metrics on the host: top-k accuracy from logits, and a model evaluation pass. */
import { Tensor, tidy } from '../tensor';
import { noGrad } from '../autograd';
import { crossEntropy } from '../ops/loss';
import { Module } from '../nn/module';
import { BatchSource } from '../data/images/loader';

/** Counts rows whose label is among the k largest logits (ties counted against the label). */
export function topKCorrect(logits: ArrayLike<number>, labels: ArrayLike<number>, n: number, c: number, ks: number[]): number[] {
  const hits = ks.map(() => 0);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    const target = logits[i * c + y];
    let rank = 0;
    for (let j = 0; j < c; j++) {
      const v = logits[i * c + j];
      if (v > target || (v === target && j < y)) rank++;
    }
    ks.forEach((k, t) => {
      if (rank < k) hits[t]++;
    });
  }
  return hits;
}

export interface EvalResult {
  loss: number;
  top1: number;
  top5: number;
  n: number;
}

/** Mean loss, top-1 and top-5 accuracy of a model over every batch of a source (eval mode, no graph). */
export async function evaluateClassifier(model: Module, source: BatchSource): Promise<EvalResult> {
  const wasTraining = model.training;
  model.eval();
  let loss = 0;
  let h1 = 0;
  let h5 = 0;
  let n = 0;
  try {
    for await (const batch of source.batches(0, 0)) {
      try {
        const { l, logits } = noGrad(() =>
          tidy(() => {
            const out = model.forward(batch.x);
            return { l: crossEntropy(out, batch.y).item(), logits: out.dataSync() as ArrayLike<number> };
          }),
        );
        const c = logits.length / batch.size;
        const [a, b] = topKCorrect(logits, batch.y.dataSync(), batch.size, c, [1, 5]);
        loss += l * batch.size;
        h1 += a;
        h5 += b;
        n += batch.size;
      } finally {
        batch.x.dispose();
        batch.y.dispose();
      }
    }
  } finally {
    model.train(wasTraining);
  }
  return { loss: loss / Math.max(n, 1), top1: h1 / Math.max(n, 1), top5: h5 / Math.max(n, 1), n };
}

export type { Tensor };
