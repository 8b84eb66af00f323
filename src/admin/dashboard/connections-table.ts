/** The Connections panel: one page at a time, filtered by user, with kick buttons. */
import { AuthError, type AdminClient } from "./api.ts";
import { $, el, toast } from "./dom.ts";
import { fmtAge, fmtBytes } from "./format.ts";

const PAGE = 25;

/** One row of `GET /admin/api/connections` (docs/openapi.yaml `Connection`). */
interface ConnectionRow {
  id: number;
  user: string | null;
  via: string;
  ip: string;
  format: string;
  streams: number;
  openedAt: number;
  bufferedBytes: number;
}

/** Pages through a gateway's connections; `onAuthRefused` when the token stops working. */
export class ConnectionsTable {
  private offset = 0;
  private total = 0;
  private generation = 0;

  constructor(
    private api: () => AdminClient | undefined,
    private readonly onAuthRefused: () => void,
  ) {
    $("prev").addEventListener("click", () => {
      this.offset = Math.max(0, this.offset - PAGE);
      void this.refresh();
    });
    $("next").addEventListener("click", () => {
      if (this.offset + PAGE < this.total) {
        this.offset += PAGE;
        void this.refresh();
      }
    });
    let filterTimer: ReturnType<typeof setTimeout> | undefined;
    $("user-filter").addEventListener("input", () => {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(() => {
        this.offset = 0;
        void this.refresh();
      }, 250);
    });
  }

  /** Back to the first page (another gateway). */
  reset(): void {
    this.offset = 0;
    this.generation++;
  }

  async refresh(): Promise<void> {
    const api = this.api();
    if (!api) return;
    const gen = this.generation;
    const user = ($("user-filter") as HTMLInputElement).value.trim();
    const q = "?offset=" + this.offset + "&limit=" + PAGE + (user ? "&user=" + encodeURIComponent(user) : "");
    let page: { total: number; items: ConnectionRow[] };
    try {
      page = await api.call("/admin/api/connections" + q);
    } catch (err) {
      if (gen === this.generation && err instanceof AuthError) this.onAuthRefused();
      return;
    }
    if (gen !== this.generation) return;
    if (page.items.length === 0 && this.offset > 0 && page.total > 0) {
      this.offset = Math.max(0, this.offset - PAGE);
      return this.refresh();
    }
    this.total = page.total;
    const now = Date.now();
    const rows = page.items.map((c) =>
      el(
        "tr",
        { "data-conn-id": String(c.id), "data-user": c.user ?? "" },
        el("td", { class: "num", text: String(c.id) }),
        el("td", { class: "mono ellipsis", text: c.user ?? "(anonymous)", title: (c.user ?? "anonymous") + " via " + c.via }),
        el("td", { class: "mono", text: c.ip }),
        el("td", { text: c.format }),
        el("td", { class: "num", text: String(c.streams) }),
        el("td", { class: "num", text: fmtAge((now - c.openedAt) / 1000) }),
        el("td", { class: "num", text: fmtBytes(c.bufferedBytes) }),
        el(
          "td",
          { class: "num" },
          el("button", { class: "danger kick", type: "button", title: "Close this connection with 4001", onclick: () => void this.kick(c) }, "Kick"),
          " ",
          c.user ? el("button", { class: "danger kick-user", type: "button", title: "Close every connection of " + c.user, onclick: () => void this.kickUser(c.user!) }, "Kick user") : "",
        ),
      ),
    );
    ($("connections") as HTMLTableElement).tBodies[0]!.replaceChildren(...(rows.length ? rows : [el("tr", null, el("td", { class: "empty", colspan: "8", text: user ? "no connections for this user" : "no connections" }))]));
    const from = page.total ? this.offset + 1 : 0;
    $("page-info").textContent = from + "–" + (this.offset + page.items.length) + " of " + page.total;
    ($("prev") as HTMLButtonElement).disabled = this.offset === 0;
    ($("next") as HTMLButtonElement).disabled = this.offset + PAGE >= page.total;
  }

  private async kick(c: ConnectionRow): Promise<void> {
    if (!confirm("Kick connection #" + c.id + (c.user ? " (" + c.user + ")" : "") + "? It is closed with code 4001.")) return;
    await this.post("/admin/api/connections/" + c.id + "/kick", (r) => (r.kicked ? "Connection #" + c.id + " kicked" : "Connection #" + c.id + " was already closing"));
  }

  private async kickUser(user: string): Promise<void> {
    if (!confirm("Kick every connection of user " + user + "? They are closed with code 4001.")) return;
    await this.post("/admin/api/users/" + encodeURIComponent(user) + "/kick", (r) => r.kicked + " connection(s) of " + user + " kicked");
  }

  private async post(path: string, done: (r: { kicked: number }) => string): Promise<void> {
    try {
      toast(done(await this.api()!.call<{ kicked: number }>(path, { method: "POST" })));
    } catch (err) {
      if (err instanceof AuthError) return this.onAuthRefused();
      toast("Kick failed: " + (err as Error).message);
    }
    setTimeout(() => void this.refresh(), 150);
  }
}
