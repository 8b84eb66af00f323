import type { Session } from "./session.ts";

/** Every open session, by connection id and by user, for sweeps, admin and kicks. */
export class SessionRegistry {
  private readonly byId = new Map<number, Session>();
  private readonly byUser = new Map<string, Set<Session>>();
  private nextId = 1;

  newId(): number {
    return this.nextId++;
  }

  add(s: Session): void {
    this.byId.set(s.id, s);
    const u = s.identity.userId;
    if (u !== undefined) {
      let set = this.byUser.get(u);
      if (!set) this.byUser.set(u, (set = new Set()));
      set.add(s);
    }
  }

  remove(s: Session): void {
    this.byId.delete(s.id);
    const u = s.identity.userId;
    if (u === undefined) return;
    const set = this.byUser.get(u);
    set?.delete(s);
    if (set?.size === 0) this.byUser.delete(u);
  }

  get(id: number): Session | undefined {
    return this.byId.get(id);
  }

  ofUser(userId: string): Session[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  all(): IterableIterator<Session> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }
}
