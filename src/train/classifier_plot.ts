/** Training curves as SVG (vega-lite rendered headless by vega) and PNG (@resvg/resvg-js). */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface CurvePoint {
  epoch: number;
  series: string;
  value: number;
  panel: string;
}

/** Renders curves (one panel per `panel`: e.g. loss and accuracy) to <base>.svg and <base>.png. */
export async function writeCurves(base: string, points: CurvePoint[], title: string): Promise<{ svg: string; png: string | null }> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const vl = require('vega-lite') as { compile: (spec: unknown) => { spec: unknown } };
  const vega = require('vega') as {
    parse: (spec: unknown) => unknown;
    View: new (rt: unknown, opts: { renderer: string }) => { toSVG: () => Promise<string>; finalize: () => void };
  };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
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
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  fs.mkdirSync(path.dirname(base), { recursive: true });
  const svgFile = `${base}.svg`;
  fs.writeFileSync(svgFile, svg);
  let pngFile: string | null = null;
  try {
    const { Resvg } = require('@resvg/resvg-js') as { Resvg: new (svg: string, o: unknown) => { render: () => { asPng: () => Buffer } } };
    const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 } }).render().asPng();
    pngFile = `${base}.png`;
    fs.writeFileSync(pngFile, png);
  } catch {
    pngFile = null; // PNG is optional: the SVG is the primary artifact.
  }
  return { svg: svgFile, png: pngFile };
}
