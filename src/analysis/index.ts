/** Characteristic-activation analysis figures (Vega-Lite → SVG → PNG). */
export * from './render';
export * from './figures';
