import type { Session } from "./session.ts";

/** Every open session, by connection id and by user, for sweeps, admin and kicks. */
export class SessionRegistry {
  private readonly byId = new Map<number, Session>();
  /** A user's one session, or a Set once they have several (most have one: no Set per connection). */
  private readonly byUser = new Map<string, Session | Set<Session>>();
  private nextId = 1;

  newId(): number {
    return this.nextId++;
  }

  add(s: Session): void {
    this.byId.set(s.id, s);
    const u = s.identity.userId;
    if (u === undefined) return;
    const cur = this.byUser.get(u);
    if (cur === undefined) this.byUser.set(u, s);
    else if (cur instanceof Set) cur.add(s);
    else if (cur !== s) this.byUser.set(u, new Set([cur, s]));
  }

  remove(s: Session): void {
    this.byId.delete(s.id);
    const u = s.identity.userId;
    if (u === undefined) return;
    const cur = this.byUser.get(u);
    if (cur === s) this.byUser.delete(u);
    else if (cur instanceof Set) {
      cur.delete(s);
      if (cur.size === 1) this.byUser.set(u, cur.values().next().value!);
    }
  }

  get(id: number): Session | undefined {
    return this.byId.get(id);
  }

  ofUser(userId: string): Session[] {
    const cur = this.byUser.get(userId);
    return cur === undefined ? [] : cur instanceof Set ? [...cur] : [cur];
  }

  all(): IterableIterator<Session> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }
}
