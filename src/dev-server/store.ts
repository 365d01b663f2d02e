import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * A per-server, in-memory storage for oidc-provider models.
 *
 * oidc-provider ships a development adapter, but its storage is a module-wide LRU of 1000 entries: two dev
 * servers in one process would share it, and under load it silently evicts tokens — including the consumed
 * refresh tokens that reuse detection depends on. This one belongs to a single server, honours expiry and
 * never evicts a live entry.
 */
export class MemoryStore {
  readonly #entries = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  /** grantId → keys of the tokens issued under it (for revokeByGrantId). */
  readonly #byGrant = new Map<string, Set<string>>();
  /** secondary indexes: `sessionUid:<uid>` / `userCode:<code>` → primary key. */
  readonly #index = new Map<string, string>();
  #writes = 0;

  /** Adapter factory to pass as oidc-provider's `adapter` configuration. */
  readonly adapterFactory = (model: string): Adapter => new ModelAdapter(model, this);

  get(key: string): AdapterPayload | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  set(key: string, payload: AdapterPayload, expiresInSeconds: number): void {
    const expiresAt = expiresInSeconds > 0 ? Date.now() + expiresInSeconds * 1000 : Number.POSITIVE_INFINITY;
    this.#entries.set(key, { payload, expiresAt });
    if (payload.grantId) {
      let keys = this.#byGrant.get(payload.grantId);
      if (!keys) {
        keys = new Set();
        this.#byGrant.set(payload.grantId, keys);
      }
      keys.add(key);
    }
    if ((++this.#writes & 1023) === 0) this.sweep();
  }

  setIndex(name: string, key: string): void {
    this.#index.set(name, key);
  }

  lookup(name: string): AdapterPayload | undefined {
    const key = this.#index.get(name);
    if (key === undefined) return undefined;
    const payload = this.get(key);
    if (!payload) this.#index.delete(name);
    return payload;
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    this.#entries.delete(key);
    const grantId = entry?.payload.grantId;
    if (grantId) this.#byGrant.get(grantId)?.delete(key);
  }

  revokeGrant(grantId: string): void {
    for (const key of this.#byGrant.get(grantId) ?? []) this.#entries.delete(key);
    this.#byGrant.delete(grantId);
  }

  /** Drops expired entries; called every 1024 writes so a long benchmark does not grow without bound. */
  sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.delete(key);
    }
    for (const [name, key] of this.#index) {
      if (!this.#entries.has(key)) this.#index.delete(name);
    }
    for (const [grantId, keys] of this.#byGrant) {
      if (keys.size === 0) this.#byGrant.delete(grantId);
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#byGrant.clear();
    this.#index.clear();
  }
}

class ModelAdapter implements Adapter {
  readonly #model: string;
  readonly #store: MemoryStore;

  constructor(model: string, store: MemoryStore) {
    this.#model = model;
    this.#store = store;
  }

  #key(id: string): string {
    return `${this.#model}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const key = this.#key(id);
    this.#store.set(key, payload, expiresIn);
    if (this.#model === 'Session' && payload.uid) this.#store.setIndex(`sessionUid:${payload.uid}`, key);
    if (payload.userCode) this.#store.setIndex(`userCode:${payload.userCode}`, key);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#store.get(this.#key(id));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#store.lookup(`sessionUid:${uid}`);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#store.lookup(`userCode:${userCode}`);
  }

  async consume(id: string): Promise<void> {
    const payload = this.#store.get(this.#key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    this.#store.delete(this.#key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.#store.revokeGrant(grantId);
  }
}
