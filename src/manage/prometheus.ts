/** Label values of one sample. */
export type Labels = Readonly<Record<string, string>>;

/** Escapes a label value (Prometheus text format 0.0.4: backslash, double quote, newline). */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

/** The metric types of the text format. */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/**
 * Builds a Prometheus text exposition (format 0.0.4): each family once, with HELP and TYPE, then
 * its samples. Families appear in the order they are first declared.
 */
export class PrometheusText {
  readonly #families = new Map<string, { help: string; type: MetricType; samples: string[] }>();

  /** Declares a family (idempotent); samples may follow with {@link sample}. */
  family(name: string, type: MetricType, help: string): this {
    if (!this.#families.has(name)) this.#families.set(name, { help, type, samples: [] });
    return this;
  }

  /** Adds a sample to a declared family (`suffix` for histogram parts: `_bucket`, `_sum`, `_count`). */
  sample(name: string, labels: Labels | undefined, value: number, suffix = ''): this {
    const f = this.#families.get(name);
    if (f === undefined) throw new Error(`metric family ${name} is not declared`);
    f.samples.push(`${name}${suffix}${labelText(labels)} ${num(value)}`);
    return this;
  }

  /** The exposition text (ends with a newline). */
  toString(): string {
    const out: string[] = [];
    for (const [name, f] of this.#families) {
      out.push(`# HELP ${name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
      out.push(`# TYPE ${name} ${f.type}`);
      out.push(...f.samples);
    }
    return `${out.join('\n')}\n`;
  }
}

/** Default latency buckets (seconds): 0.25 ms … 2.5 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

interface Series {
  readonly labels: Labels;
  readonly counts: number[];
  sum: number;
  count: number;
}

/** One label set of a {@link Histogram}. */
export interface HistogramSeries {
  observe(value: number): void;
}

/** A cumulative histogram per label set (Prometheus semantics: `le` buckets, `_sum`, `_count`). */
export class Histogram {
  readonly #buckets: readonly number[];
  readonly #series = new Map<string, Series>();

  constructor(buckets: readonly number[] = LATENCY_BUCKETS) {
    this.#buckets = [...buckets].sort((a, b) => a - b);
  }

  observe(labels: Labels, value: number): void {
    this.series(labels).observe(value);
  }

  /**
   * The series of one label set, to observe into without a label object and key per call (a hot
   * path resolves its series once: issue 12 §1, allocation per REGISTER).
   */
  series(labels: Labels): HistogramSeries {
    const key = JSON.stringify(labels);
    let s = this.#series.get(key);
    if (s === undefined) {
      s = { labels, counts: new Array<number>(this.#buckets.length).fill(0), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    const series = s;
    const buckets = this.#buckets;
    return {
      observe(value: number): void {
        for (let i = 0; i < buckets.length; i++)
          if (value <= (buckets[i] ?? 0)) series.counts[i] = (series.counts[i] ?? 0) + 1;
        series.sum += value;
        series.count++;
      },
    };
  }

  /** Writes the histogram's samples into a declared family. */
  writeTo(text: PrometheusText, name: string): void {
    for (const s of this.#series.values()) {
      this.#buckets.forEach((b, i) => {
        text.sample(name, { ...s.labels, le: String(b) }, s.counts[i] ?? 0, '_bucket');
      });
      text.sample(name, { ...s.labels, le: '+Inf' }, s.count, '_bucket');
      text.sample(name, s.labels, s.sum, '_sum');
      text.sample(name, s.labels, s.count, '_count');
    }
  }

  /** Count and sum per label set (for the JSON stats). */
  snapshot(): { labels: Labels; count: number; sum: number }[] {
    return [...this.#series.values()].map((s) => ({
      labels: s.labels,
      count: s.count,
      sum: s.sum,
    }));
  }
}
