/** Line charts with uPlot (a small, well-kept canvas charting library): axes, legend, scales. */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const PALETTE = ['#2f6fdb', '#e4572e', '#12b76a', '#a259ff', '#f0a202', '#0891b2', '#c2185b', '#475467'];

export interface LineChart {
  /** Replaces the data: one x array, one y array per series (same length). */
  setData(x: readonly number[], ys: readonly (readonly (number | null)[])[]): void;
  /** Replaces the series (labels) and the data. */
  setSeries(labels: readonly string[], x: readonly number[], ys: readonly (readonly (number | null)[])[]): void;
}

export function lineChart(
  parent: HTMLElement,
  options: { title: string; xLabel: string; yLabel: string; series: readonly string[]; logY?: boolean; width?: number; height?: number },
): LineChart {
  const make = (labels: readonly string[]) =>
    new uPlot(
      {
        title: options.title,
        width: options.width ?? 520,
        height: options.height ?? 260,
        scales: { x: { time: false }, y: options.logY ? { distr: 3 } : {} },
        axes: [
          { label: options.xLabel },
          // uPlot's default labels round small values on a log scale to 0: write them as 1e-4 etc.
          { label: options.yLabel, size: 70, values: (_u: uPlot, splits: number[]) => splits.map((v) => (v === null || v === undefined ? '' : Math.abs(v) < 0.01 && v !== 0 ? v.toExponential(0) : String(Number(v.toPrecision(4))))) },
        ],
        series: [{ label: options.xLabel }, ...labels.map((label, i) => ({ label, stroke: PALETTE[i % PALETTE.length]!, width: 1.5, points: { show: false } }))],
      },
      [[], ...labels.map(() => [])] as unknown as uPlot.AlignedData,
      parent,
    );
  let plot = make(options.series);
  const data = (x: readonly number[], ys: readonly (readonly (number | null)[])[]) => [x, ...ys] as unknown as uPlot.AlignedData;
  return {
    setData(x, ys) {
      plot.setData(data(x, ys));
    },
    setSeries(labels, x, ys) {
      plot.destroy();
      plot = make(labels);
      plot.setData(data(x, ys));
    },
  };
}
