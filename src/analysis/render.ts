/**
 * Vega-Lite spec → Vega view (headless, no canvas) → SVG → PNG with resvg. vega and vega-lite are
 * ES modules with top-level await, so they are loaded with a dynamic import().
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

// Kept as a real import() in the CommonJS output (TypeScript would otherwise turn it into require).
const importEsm = new Function('m', 'return import(m)') as (m: string) => Promise<any>;

export type VlSpec = Record<string, unknown>;

export async function renderSvg(spec: VlSpec): Promise<string> {
  const vl = await importEsm('vega-lite');
  const vega = await importEsm('vega');
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg: string = await view.toSVG(2);
  view.finalize();
  return svg;
}

export function svgToPng(svg: string, scale = 2): Buffer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const r = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, background: 'white', font: { loadSystemFonts: true } });
  return r.render().asPng();
}

/** Writes <dir>/<name>.svg and .png (and the spec as .vl.json); returns the paths. */
export async function writeFigure(spec: VlSpec, dir: string, name: string): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const svg = await renderSvg(spec);
  const svgPath = path.join(dir, `${name}.svg`);
  const pngPath = path.join(dir, `${name}.png`);
  fs.writeFileSync(svgPath, svg);
  fs.writeFileSync(pngPath, svgToPng(svg));
  return [svgPath, pngPath];
}
