/**
 * Time charts of the dashboard on uPlot. Each chart's legend is its hover read-out: the time and
 * every series' value under the cursor, and the latest values when the cursor is elsewhere.
 */
import uPlot from "uplot";

/** One line (or bar series) of a chart. */
export interface SeriesSpec {
  label: string;
  color: string;
  fill?: boolean;
}

const AXIS = { stroke: "#6f7c8b", grid: { stroke: "#1a2330", width: 1 }, ticks: { stroke: "#2a3746", width: 1 }, font: "10px ui-monospace, Menlo, Consolas, monospace" };
const HEIGHT = 170;

/** A chart of values over time in one host element; `setData` redraws it. */
export class TimeChart {
  private plot?: uPlot;
  private labels = "";
  private hovering = false;

  constructor(
    private readonly host: HTMLElement,
    private series: SeriesSpec[],
    private readonly fmt: (v: number | null | undefined) => string,
    private readonly kind: "line" | "bars" = "line",
  ) {}

  /** `times` in ms; `values[i]` is series i, one value (or null) per time. */
  setData(times: number[], values: (number | null)[][], series?: SeriesSpec[]): void {
    if (series) this.series = series;
    const labels = this.series.map((s) => s.label).join("\u0000");
    if (!this.plot || labels !== this.labels) this.create(labels);
    const data = [times.map((t) => t / 1000), ...values] as uPlot.AlignedData;
    this.plot!.setData(data);
    if (!this.hovering && times.length) this.plot!.setLegend({ idx: times.length - 1 });
    this.host.dataset.points = String(times.length);
  }

  /** Follows the host's width (call on window resize). */
  resize(): void {
    this.plot?.setSize({ width: this.width(), height: HEIGHT });
  }

  private width(): number {
    return Math.max(200, this.host.clientWidth);
  }

  private create(labels: string): void {
    this.plot?.destroy();
    this.labels = labels;
    const bars = this.kind === "bars" ? uPlot.paths.bars?.({ size: [0.7, 12] }) : undefined;
    const opts: uPlot.Options = {
      width: this.width(),
      height: HEIGHT,
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, niceMax(max)] } },
      axes: [
        { ...AXIS, space: 60 },
        { ...AXIS, size: 52, values: (_u, ticks) => ticks.map((t) => this.fmt(t)) },
      ],
      legend: { live: true },
      series: [
        { label: "time", value: (_u, v) => (v === null ? "–" : new Date(v * 1000).toLocaleTimeString()) },
        ...this.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.6,
          fill: s.fill || bars ? s.color + (bars ? "cc" : "22") : undefined,
          paths: bars,
          points: { show: false },
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => this.fmt(v),
        })),
      ],
      hooks: {
        setCursor: [
          (u) => {
            // Off the chart, the read-out shows the latest values again.
            this.hovering = u.cursor.idx !== null && u.cursor.idx !== undefined;
            const n = u.data[0].length;
            if (!this.hovering && n) queueMicrotask(() => u.setLegend({ idx: n - 1 }, false));
          },
        ],
      },
    };
    this.host.replaceChildren();
    this.plot = new uPlot(opts, [[]], this.host);
  }
}

/** A top of scale whose four grid steps are round numbers (1, 2, 2.5, 5 x 10^k). */
export function niceMax(v: number | null): number {
  if (!(v !== null && v > 0)) return 4;
  const step = (v * 1.1) / 4;
  const e = 10 ** Math.floor(Math.log10(step));
  const f = step / e;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nice * e * 4;
}
