/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws `what`). */
export async function until<T>(check: () => T | Promise<T>, timeoutMs = 5000, what = "condition", intervalMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(intervalMs);
  }
}
