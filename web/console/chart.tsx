// A uPlot time-series chart (requests/s and replies/s of one element) as a Preact component. uPlot
// draws on a canvas; this only creates it once, hands it new data, and follows the width of its box.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** The points of one element: epoch seconds, requests/s, replies/s (null = no value). */
export interface RateSeries {
  readonly t: readonly number[];
  readonly requests: readonly (number | null)[];
  readonly replies: readonly (number | null)[];
}

const HEIGHT = 220;

/** The window the x axis always shows, whatever the history holds (seconds). */
const WINDOW_S = 15 * 60;

function options(width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    cursor: { drag: { x: false, y: false } },
    scales: {
      // the last 15 minutes up to the newest point
      x: { time: true, range: (_u, _min, max) => [max - WINDOW_S, max] },
      y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
    },
    axes: [{}, { label: 'per second', size: 56 }],
    series: [
      {},
      { label: 'requests/s', stroke: '#1e6fd9', width: 2, points: { show: false } },
      { label: 'replies/s', stroke: '#2e9d4e', width: 2, dash: [6, 4], points: { show: false } },
    ],
  };
}

/** One chart; `revision` changes whenever the series got new points. */
export function RateChart(props: {
  readonly title: string;
  readonly series: RateSeries;
  readonly revision: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);

  const data = (): uPlot.AlignedData => [
    props.series.t as number[],
    props.series.requests as (number | null)[],
    props.series.replies as (number | null)[],
  ];

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const u = new uPlot(options(Math.max(240, el.clientWidth)), data(), el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = Math.max(240, el.clientWidth);
      if (w !== u.width) u.setSize({ width: w, height: HEIGHT });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = undefined;
    };
  }, []);

  // the revision says when the data changed
  useEffect(() => {
    plot.current?.setData(data());
  }, [props.revision]);

  return (
    <figure class="chart" data-element={props.title}>
      <figcaption>{props.title}</figcaption>
      <div ref={box} class="chart-box" />
    </figure>
  );
}
