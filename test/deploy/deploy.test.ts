import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/config.ts";
import { createGateway, type AssembledGateway } from "../../src/create-gateway.ts";
import { DEPRECATED_METRIC_NAMES } from "../../src/metrics/gateway-metrics.ts";
import { Logger } from "../../src/util/logger.ts";

/**
 * The operations kit against the real thing: the Grafana dashboard and alert rules parse, every
 * metric they name is exported by a running gateway's /metrics, every label they use is one of
 * that metric's labels (or a target label Prometheus adds), and the Kubernetes manifests agree
 * with each other and with the SIGTERM drain.
 */
const ROOT = join(import.meta.dir, "../..");
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");

/** Labels Prometheus attaches at scrape time (kubernetes_sd relabeling) or histograms carry. */
const TARGET_LABELS = new Set(["namespace", "pod", "instance", "job", "le", "container", "node"]);
/** Metric families the kit may use: the gateway's own, and prom-client's process/runtime ones. */
const METRIC_NAME = /\b(?:gateway|process|nodejs)_[a-z0-9_]+\b/g;

type Json = Record<string, unknown>;

interface ScrapedMetric {
  type: string;
  series: Record<string, string>[];
}

function parseExposition(text: string): Map<string, ScrapedMetric> {
  const out = new Map<string, ScrapedMetric>();
  for (const line of text.split("\n")) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      out.set(t[1]!, { type: t[2]!, series: [] });
      continue;
    }
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const name = m[1]!;
    const family = out.get(name) ?? out.get(name.replace(/_(bucket|sum|count)$/, ""));
    family?.series.push(labels);
  }
  return out;
}

/** The metric family a name in an expression refers to (histogram series suffixes stripped). */
function familyOf(name: string, scraped: Map<string, ScrapedMetric>): string | undefined {
  if (scraped.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return base !== name && scraped.get(base)?.type === "histogram" ? base : undefined;
}

/** Checks that parentheses, brackets and braces of a PromQL expression balance (strings skipped). */
function balanced(expr: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  let inStr = false;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (c === '"' && expr[i - 1] !== "\\") inStr = !inStr;
    if (inStr) continue;
    if (c === "(" || c === "[" || c === "{") stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0 && !inStr;
}

/** GitHub's heading anchors of a markdown file. */
function anchors(md: string): Set<string> {
  const out = new Set<string>();
  for (const m of md.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    out.add(
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-"),
    );
  }
  return out;
}

const dashboard = JSON.parse(read("deploy/grafana/gateway-dashboard.json")) as Json;
const alerts = Bun.YAML.parse(read("deploy/prometheus/alerts.yml")) as { groups: { name: string; rules: Json[] }[] };
const k8s = (file: string) => Bun.YAML.parse(read(`deploy/k8s/${file}`)) as Json;

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: { expr: string; refId: string }[];
  gridPos: { h: number; w: number; x: number; y: number };
}
const panels = dashboard.panels as Panel[];
const rules = alerts.groups.flatMap((g) => g.rules);
const adapter = Bun.YAML.parse((k8s("prometheus-adapter-rules.yaml").data as { "config.yaml": string })["config.yaml"]) as {
  rules: { seriesQuery: string; metricsQuery: string; name: { matches: string; as: string }; resources: { overrides: Record<string, { resource: string }> } }[];
};

/** Every PromQL expression the kit contains, with where it came from. */
const expressions: { where: string; expr: string }[] = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr }))),
  ...rules.map((r) => ({ where: `alert ${r.alert as string}`, expr: r.expr as string })),
  ...adapter.rules.map((r) => ({ where: "adapter rule", expr: r.seriesQuery })),
];

describe("Grafana dashboard", () => {
  test("is a dashboard with unique panel ids, a datasource variable and queries on every panel", () => {
    expect(dashboard.title).toBe("CEX WebSocket gateway");
    expect(dashboard.uid).toBe("cex-ws-gateway");
    expect(typeof dashboard.schemaVersion).toBe("number");
    const vars = (dashboard.templating as { list: { name: string; type: string }[] }).list;
    expect(vars.find((v) => v.name === "datasource")?.type).toBe("datasource");
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const data = panels.filter((p) => p.type !== "row");
    expect(data.length).toBeGreaterThan(20);
    for (const p of data) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.datasource?.uid, p.title).toBe("${datasource}");
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (const t of p.targets!) {
        expect(t.expr.length).toBeGreaterThan(0);
        expect(balanced(t.expr), `${p.title}: ${t.expr}`).toBe(true);
      }
    }
  });

  test("covers what operators ask about", () => {
    const all = expressions.filter((e) => e.where.startsWith("panel")).map((e) => e.expr).join("\n");
    for (const m of [
      "gateway_connections",
      "gateway_connections_opened_total",
      "gateway_connections_closed_total",
      "gateway_subscriptions",
      "gateway_events_in_total",
      "gateway_frames_out_total",
      "gateway_sent_bytes_total",
      "gateway_slow_consumer_drops_total",
      "gateway_resumes_total",
      "gateway_auth_failures_total",
      "gateway_rate_limited_total",
      "gateway_source_to_gateway_seconds_bucket",
      "gateway_receive_to_publish_seconds_bucket",
      "gateway_source_up",
      "gateway_source_consumer_lag_messages",
      "gateway_source_last_event_age_seconds",
      "gateway_source_reconnects_total",
      "gateway_source_errors_total",
    ]) {
      expect(all).toMatch(new RegExp(`\\b${m}\\b`));
    }
  });
});

describe("alert rules", () => {
  test("parse, with unique names, severities, durations and runbook links that exist", () => {
    const docAnchors = anchors(read("docs/operations.md"));
    const names = rules.map((r) => r.alert as string);
    expect(new Set(names).size).toBe(names.length);
    for (const r of rules) {
      const name = r.alert as string;
      expect(typeof r.expr, name).toBe("string");
      expect(balanced(r.expr as string), name).toBe(true);
      if (r.for !== undefined) expect(r.for as string, name).toMatch(/^\d+[smh]$/);
      expect(["warning", "critical"], name).toContain((r.labels as Json).severity as string);
      const ann = r.annotations as Json;
      expect(typeof ann.summary, name).toBe("string");
      expect(ann.runbook, `${name}: runbook_url, not runbook`).toBeUndefined();
      const runbook = /^https:\/\/\S+\/docs\/operations\.md#(.+)$/.exec(ann.runbook_url as string);
      expect(runbook, name).not.toBeNull();
      expect(docAnchors.has(runbook![1]!), `${name}: anchor #${runbook![1]} in docs/operations.md`).toBe(true);
    }
  });

  test("include the required alerts", () => {
    const byMetric = (re: RegExp) => rules.filter((r) => re.test(r.expr as string)).map((r) => r.alert);
    expect(byMetric(/gateway_connections_opened_total/).length).toBeGreaterThan(0); // client reconnect spike
    expect(byMetric(/gateway_source_reconnects_total/).length).toBeGreaterThan(0); // source reconnect spike
    expect(byMetric(/gateway_resumes_total\{result="unavailable"\}/).length).toBeGreaterThan(0);
    expect(byMetric(/gateway_source_consumer_lag_messages/).length).toBeGreaterThan(0);
    expect(byMetric(/gateway_auth_failures_total/).length).toBeGreaterThan(0);
    expect(byMetric(/histogram_quantile\(0\.99,[\s\S]*?gateway_source_to_gateway_seconds_bucket/).length).toBeGreaterThan(0);
    expect(byMetric(/histogram_quantile\(0\.99,[\s\S]*?gateway_receive_to_publish_seconds_bucket/).length).toBeGreaterThan(0);
    expect(byMetric(/gateway_slow_consumer_drops_total/).length).toBeGreaterThan(0);
  });
});

describe("promtool", () => {
  test("check rules accepts the alert rules", () => {
    // Debian's prometheus package; scripts/test.sh installs it.
    const promtool = Bun.which("promtool");
    expect(promtool, "promtool on PATH (apt-get install prometheus)").not.toBeNull();
    const r = Bun.spawnSync([promtool!, "check", "rules", join(ROOT, "deploy/prometheus/alerts.yml")], { stderr: "pipe", stdout: "pipe" });
    const out = r.stdout.toString() + r.stderr.toString();
    expect(r.exitCode, out).toBe(0);
    expect(out).toContain(`SUCCESS: ${rules.length} rules found`);
  });
});

describe("Kubernetes manifests", () => {
  const deployment = k8s("deployment.yaml") as {
    spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: Json } };
  };
  const pod = deployment.spec.template.spec as {
    terminationGracePeriodSeconds: number;
    containers: { name: string; ports: { name: string; containerPort: number }[]; env: { name: string; value?: string }[]; lifecycle: { preStop: { exec: { command: string[] } } }; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } }; startupProbe: { httpGet: { path: string }; periodSeconds: number; failureThreshold: number } }[];
  };
  const c = pod.containers[0]!;

  test("parse, and selectors agree", () => {
    const labels = deployment.spec.template.metadata.labels;
    expect(deployment.spec.selector.matchLabels).toEqual(labels);
    for (const [file, sel] of [
      ["service.yaml", (k8s("service.yaml").spec as { selector: Record<string, string> }).selector],
      ["pdb.yaml", (k8s("pdb.yaml").spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels],
    ] as const) {
      for (const [k, v] of Object.entries(sel)) expect(labels[k], file).toBe(v);
    }
    expect(c.readinessProbe.httpGet.path).toBe("/readyz");
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    // The startupProbe holds liveness off while a cold pod builds its bundles and opens its logs.
    expect(c.startupProbe.httpGet.path).toBe("/healthz");
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(60);
    expect(deployment.spec.template.metadata.annotations["prometheus.io/port"]).toBe(String(c.ports[0]!.containerPort));
    const kust = k8s("kustomization.yaml") as { resources: string[] };
    for (const r of kust.resources) expect(() => k8s(r)).not.toThrow();
  });

  test("termination grace covers preStop, the drain and the exit bound", () => {
    const sleep = c.lifecycle.preStop.exec.command;
    expect(sleep[0]).toBe("sleep");
    const preStopSec = Number(sleep[1]);
    const graceMs = Number(c.env.find((e) => e.name === "SHUTDOWN_GRACE_MS")?.value);
    expect(graceMs).toBeGreaterThan(0);
    // main.ts exits at the latest SHUTDOWN_GRACE_MS + 5 s after SIGTERM.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStopSec + graceMs / 1000 + 5);
    const pdb = k8s("pdb.yaml").spec as { maxUnavailable?: number; minAvailable?: number };
    expect(pdb.maxUnavailable ?? pdb.minAvailable).toBeDefined();
  });

  test("the HPA scales on the custom metric the adapter rule serves", () => {
    const hpa = k8s("hpa.yaml") as { spec: { scaleTargetRef: { kind: string; name: string }; metrics: { type: string; pods?: { metric: { name: string }; target: { type: string; averageValue: string } } }[] } };
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: (k8s("deployment.yaml").metadata as { name: string }).name });
    const podsMetric = hpa.spec.metrics.find((m) => m.type === "Pods")!.pods!;
    expect(podsMetric.metric.name).toBe("gateway_connections");
    expect(podsMetric.target.type).toBe("AverageValue");
    const rule = adapter.rules.find((r) => r.name.as === podsMetric.metric.name)!;
    expect(rule).toBeDefined();
    expect(new RegExp(rule.name.matches).test("gateway_connections")).toBe(true);
    expect(rule.seriesQuery).toStartWith("gateway_connections{");
    expect(rule.resources.overrides.pod!.resource).toBe("pod");
    expect(rule.resources.overrides.namespace!.resource).toBe("namespace");
    expect(rule.metricsQuery).toContain("<<.Series>>");
  });
});

describe("every metric named exists in a running gateway's /metrics", () => {
  let gateway: AssembledGateway;
  let scraped: Map<string, ScrapedMetric>;

  beforeAll(async () => {
    const cfg = loadConfig({ HOST: "127.0.0.1", PORT: "0", ADMIN_TOKEN: "deploy-test-admin", JWT_SECRET: "deploy-test-jwt-secret", SIMULATOR: "1", LOG_LEVEL: "error" });
    cfg.log.dir = "";
    gateway = createGateway(cfg, { log: new Logger("error") }); // default process/runtime metrics on, as in production
    await gateway.start();
    await Bun.sleep(300); // some simulator batches, so histograms and counters have samples
    const res = await fetch(`http://127.0.0.1:${gateway.port}/metrics`);
    expect(res.status).toBe(200);
    scraped = parseExposition(await res.text());
  });

  afterAll(async () => {
    await gateway.shutdown(200);
  });

  test("names", () => {
    const missing: string[] = [];
    let count = 0;
    for (const { where, expr } of expressions) {
      const names = expr.match(METRIC_NAME) ?? [];
      expect(names.length, `${where}: names no metric`).toBeGreaterThan(0);
      for (const n of names) {
        count++;
        if (!familyOf(n, scraped)) missing.push(`${where}: ${n}`);
      }
    }
    expect(missing).toEqual([]);
    expect(count).toBeGreaterThan(50);
    const deprecated = expressions.filter((e) => (e.expr.match(METRIC_NAME) ?? []).some((n) => n.replace(/_(bucket|sum|count)$/, "") in DEPRECATED_METRIC_NAMES));
    expect(deprecated.map((e) => e.where), "the kit uses the new metric names").toEqual([]);
  });

  test("labels in selectors and by() clauses", () => {
    const problems: string[] = [];
    const labelNamesOf = (family: string): Set<string> | undefined => {
      const def = gateway.metrics.registry.getSingleMetric(family) as unknown as { labelNames?: string[] } | undefined;
      if (!family.startsWith("gateway_")) return undefined; // runtime metrics: their labels are prom-client's
      return new Set(def?.labelNames ?? []);
    };
    for (const { where, expr } of expressions) {
      const families = new Set<string>();
      for (const sel of expr.matchAll(/\b((?:gateway|process|nodejs)_[a-z0-9_]+)(\{([^}]*)\})?/g)) {
        const family = familyOf(sel[1]!, scraped);
        if (!family) continue;
        families.add(family);
        const known = labelNamesOf(family);
        for (const m of (sel[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
          const [, label, op, value] = m as unknown as [string, string, string, string];
          if (TARGET_LABELS.has(label)) continue;
          if (known && !known.has(label)) {
            problems.push(`${where}: ${family} has no label "${label}"`);
            continue;
          }
          // Literal values (and literal alternations) must be values the gateway really exports.
          if ((op === "=" || op === "=~") && known && !value.includes("$") && /^[\w|]+$/.test(value)) {
            for (const v of value.split("|")) {
              if (!scraped.get(family)!.series.some((s) => s[label] === v)) problems.push(`${where}: no ${family}{${label}="${v}"} series`);
            }
          }
        }
      }
      for (const by of expr.matchAll(/\b(?:by|on|without)\s*\(([^)]*)\)/g)) {
        for (const label of by[1]!.split(",").map((s) => s.trim()).filter(Boolean)) {
          if (TARGET_LABELS.has(label)) continue;
          const ok = [...families].some((f) => labelNamesOf(f)?.has(label) ?? true);
          if (!ok) problems.push(`${where}: no metric in the expression has label "${label}" used in by/on()`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test("source health is collected from source.health() at scrape time", () => {
    expect(scraped.get("gateway_source_up")!.series).toContainEqual({ source: "embedded", kind: "embedded" });
    expect(scraped.get("gateway_source_last_event_age_seconds")!.series).toContainEqual({ source: "embedded" });
    expect(scraped.get("gateway_source_events_total")!.series).toContainEqual({ source: "embedded" });
  });
});

describe("container image", () => {
  const dockerfile = read("Dockerfile");
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages.at(-1)!;

  test("the runtime stage gets node_modules only from a build stage that dropped dev dependencies", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0]!;
    expect(build).toMatch(/npm ci [^\n]*--omit=dev/);
    // Anything installed later without --omit=dev (bun, for the Kafka build) is pruned again.
    const lastInstall = build.lastIndexOf("npm install");
    const prune = build.search(/npm prune [^\n]*--omit=dev/);
    expect(prune).toBeGreaterThan(lastInstall);
    expect(runtime).toMatch(/COPY --from=build \/app\/node_modules/);
    expect(runtime).not.toMatch(/npm (ci|install)/);
    for (const dir of ["test", "bench", "docs", "deploy"]) expect(runtime, dir).not.toMatch(new RegExp(`^COPY [^\\n]*\\b${dir}\\b`, "m"));
  });

  test(".dockerignore keeps local state, tests and benches out of the build context", () => {
    const ignored = new Set(read(".dockerignore").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")));
    for (const p of [".git", "node_modules", "data", "test", "bench", ".services"]) expect(ignored.has(p), p).toBe(true);
    // Nothing the image copies may be ignored.
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/)) expect(ignored.has(src), `COPY ${src}`).toBe(false);
    }
  });
});
