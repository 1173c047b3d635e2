/**
 * A small Prometheus registry: labelled counters, cumulative histograms and gauges read at scrape time.
 * Text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
 */

type Labels = Record<string, string>;

/** Seconds; spans a sub-millisecond count to a minute-long export. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(",");
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function withLabels(name: string, key: string, extra?: string): string {
  const all = [key, extra].filter((s) => s).join(",");
  return all ? `${name}{${all}}` : name;
}

export class Counter {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const [k, v] of this.values) out += `${withLabels(this.name, k)} ${v}\n`;
    return out;
  }
}

export class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[] = LATENCY_BUCKETS) {}
  observe(labels: Labels, value: number): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const [k, s] of this.series) {
      this.buckets.forEach((b, i) => {
        out += `${withLabels(this.name + "_bucket", k, `le="${b}"`)} ${s.counts[i]}\n`;
      });
      out += `${withLabels(this.name + "_bucket", k, 'le="+Inf"')} ${s.count}\n`;
      out += `${withLabels(this.name + "_sum", k)} ${s.sum}\n`;
      out += `${withLabels(this.name + "_count", k)} ${s.count}\n`;
    }
    return out;
  }
}

/** A value read when scraped (in-flight queries, store size). */
export class Gauge {
  constructor(readonly name: string, readonly help: string, private readonly read: () => number) {}
  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n${this.name} ${this.read()}\n`;
  }
}

/** The server's metrics, one place. */
export class ServerMetrics {
  readonly httpRequests = new Counter("lasso_http_requests_total", "HTTP requests by route, method and status.");
  readonly httpLatency = new Histogram("lasso_http_request_duration_seconds", "HTTP request time to last byte, by route.");
  readonly wsRequests = new Counter("lasso_ws_requests_total", "WebSocket requests by op and outcome.");
  readonly wsLatency = new Histogram("lasso_ws_request_duration_seconds", "WebSocket request time to last frame, by op.");
  readonly wsFrames = new Counter("lasso_ws_invalid_frames_total", "WebSocket frames refused as unreadable.");
  private readonly gauges: Gauge[] = [];

  gauge(name: string, help: string, read: () => number): void {
    this.gauges.push(new Gauge(name, help, read));
  }

  render(): string {
    return [this.httpRequests, this.httpLatency, this.wsRequests, this.wsLatency, this.wsFrames, ...this.gauges]
      .map((m) => m.render())
      .join("");
  }
}
