/** Training curves of the classifier trainer, drawn with the shared Vega-Lite renderer (SVG + PNG). */
import * as path from 'node:path';
import { writeFigure } from '../analysis/render';

export interface CurvePoint {
  epoch: number;
  series: string;
  value: number;
  panel: string;
}

/** Renders curves (one panel per `panel`: loss, accuracy) to <base>.svg and <base>.png. */
export async function writeCurves(base: string, points: CurvePoint[], title: string): Promise<string[]> {
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points },
    facet: { column: { field: 'panel', type: 'nominal', title: null } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 320,
      height: 220,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
        y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: null },
        color: { field: 'series', type: 'nominal' },
      },
    },
  };
  return writeFigure(spec, path.dirname(base), path.basename(base));
}
