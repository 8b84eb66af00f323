/** The sources and top-streams tables, redrawn from each feed snapshot. */
import type { SourceView, StreamCount } from "../admin-stats.ts";
import { $, el } from "./dom.ts";
import { fmtAge, fmtNum } from "./format.ts";

/** The Sources panel: state, lag, last event, reconnects, errors, and the last error text. */
export function renderSources(list: SourceView[]): void {
  const rows = list.map((x) =>
    el(
      "tr",
      null,
      el("td", null, el("span", { text: x.name }), el("span", { class: "kind", text: x.kind })),
      el("td", { class: x.connected ? "ok" : "err", text: x.connected ? "● connected" : "● down" }),
      el("td", { class: "num", text: x.lag === null || x.lag === undefined ? "–" : fmtNum(x.lag) }),
      el("td", { class: "num", text: fmtAge(x.lastEventAgeSec) }),
      el("td", { class: "num", text: fmtNum(x.reconnects) }),
      el("td", { class: "num" + (x.errors ? " err" : ""), text: fmtNum(x.errors) }),
    ),
  );
  ($("sources") as HTMLTableElement).tBodies[0]!.replaceChildren(...(rows.length ? rows : [el("tr", null, el("td", { class: "empty", colspan: "6", text: "no sources" }))]));
  const errs = list.filter((x) => x.lastError).map((x) => x.name + ": " + x.lastError);
  $("source-error").textContent = errs.length ? "last error — " + errs.join(" · ") : "";
}

/** The Top streams panel, with a bar per stream relative to the busiest. */
export function renderStreams(list: StreamCount[], total: number): void {
  $("streams-total").textContent = fmtNum(total) + " streams with subscribers";
  const max = Math.max(1, ...list.map((x) => x.subscribers));
  const rows = list.map((x) => {
    const fill = el("span");
    fill.style.width = Math.max(2, (100 * x.subscribers) / max).toFixed(1) + "%"; // CSSOM: allowed under the CSP
    return el(
      "tr",
      null,
      el("td", { class: "mono ellipsis", text: x.stream, title: x.stream }),
      el("td", { class: "num", text: fmtNum(x.subscribers) }),
      el("td", { class: "mono muted", text: x.json + " / " + x.fb }),
      el("td", null, el("div", { class: "bar" }, fill)),
    );
  });
  ($("top-streams") as HTMLTableElement).tBodies[0]!.replaceChildren(...(rows.length ? rows : [el("tr", null, el("td", { class: "empty", colspan: "4", text: "no subscriptions" }))]));
}
