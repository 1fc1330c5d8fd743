import { writeFile } from 'node:fs/promises';

/** One line of a CDF: its name (traced, untraced) and its values in milliseconds. */
export interface Series {
  name: string;
  valuesMs: number[];
}

/** At most this many points per line: enough for a smooth curve, few enough for a small SVG. */
const POINTS = 400;

function cdf({ name, valuesMs }: Series) {
  const sorted = [...valuesMs].sort((a, b) => a - b);
  const step = Math.max(1, Math.floor(sorted.length / POINTS));
  const points = [];
  for (let i = 0; i < sorted.length; i += step)
    points.push({ mode: name, ms: sorted[i], share: (i + 1) / sorted.length });
  if (sorted.length > 0) points.push({ mode: name, ms: sorted[sorted.length - 1], share: 1 });
  return points;
}

function panel(title: string, what: string, scale: 'log' | 'symlog', series: Series[]) {
  return {
    title,
    width: 380,
    height: 260,
    data: { values: series.flatMap(cdf) },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'ms', type: 'quantitative', title: 'milliseconds', scale: { type: scale } },
      y: { field: 'share', type: 'quantitative', title: `share of ${what} at or below`, axis: { format: '%' } },
      color: { field: 'mode', type: 'nominal', title: null, scale: { domain: series.map((s) => s.name) } },
    },
  };
}

/** Writes a PNG of two CDFs side by side: checkout latency, and time in Kafka, each traced against untraced. */
export async function writeCdfPng(
  path: string,
  subtitle: string,
  latency: Series[],
  queueTime: Series[],
): Promise<void> {
  // vega and vega-lite are ES modules only.
  const [vega, vegaLite, { Resvg }] = await Promise.all([
    import('vega'),
    import('vega-lite'),
    import('@resvg/resvg-js'),
  ]);
  const spec = vegaLite.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'pnpm bench', subtitle },
    hconcat: [
      panel('checkout latency', 'checkouts', 'log', latency),
      // Symmetric log: the tail stays readable, and an event handled within the millisecond still has a place.
      panel('time in Kafka', 'events', 'symlog', queueTime),
    ],
    config: { font: 'sans-serif' },
  } as Parameters<typeof vegaLite.compile>[0]).spec;
  const svg = await new vega.View(vega.parse(spec), { renderer: 'none' }).toSVG();
  const png = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true },
  })
    .render()
    .asPng();
  await writeFile(path, png);
}
