/** DOM helpers: elements built with textContent and CSSOM only, so nothing needs 'unsafe-inline'. */

/** The element with this id (the page's markup is fixed, so a missing one is a bug). */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} missing`);
  return e as T;
}

type Attrs = Record<string, string | ((e: Event) => void)> & { text?: string; class?: string };

/** `<tag>` with attributes (`text` = textContent, `on*` = listeners) and children. */
export function el(tag: string, attrs?: Attrs | null, ...children: (Node | string | number)[]): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

let toastTimer: ReturnType<typeof setTimeout> | undefined;

/** A short message in the corner. */
export function toast(msg: string): void {
  const t = $("toast");
  t.textContent = msg;
  t.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove("show"), 2500);
}

/** The error banner: shown with these parts, hidden with null. */
export function showError(parts: (Node | string)[] | null): void {
  const b = $("error");
  b.replaceChildren(...(parts ?? []));
  b.classList.toggle("show", !!parts);
}

/** The connection pill in the header. */
export function setStatus(kind: "" | "live" | "wait" | "error", text: string): void {
  $("status").className = "pill " + kind;
  $("status-text").textContent = text;
}

/** One KPI tile's value and colour. */
export function setKpi(id: string, value: string, cls?: "good" | "bad" | "warn" | ""): void {
  const k = $(id);
  k.querySelector(".value")!.textContent = value;
  k.classList.remove("good", "bad", "warn");
  if (cls) k.classList.add(cls);
}
