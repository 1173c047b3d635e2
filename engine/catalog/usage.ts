/**
 * Query and view counts collected in memory and written in batches: a query must not cost a SQLite
 * write. Counts are keyed by tag id; a failed flush keeps them for the next one, so nothing is lost
 * short of the process dying between flushes (at most one interval of counts).
 */
export interface PendingUsage {
  queries: number;
  views: number;
  /** Latest query time in this batch (ISO 8601), or null when only views were counted. */
  lastUsedAt: string | null;
}

export class UsageBuffer {
  private pending = new Map<number, PendingUsage>();

  get size(): number {
    return this.pending.size;
  }

  query(tagId: number, at: string): void {
    const p = this.entry(tagId);
    p.queries++;
    if (p.lastUsedAt === null || p.lastUsedAt < at) p.lastUsedAt = at;
  }

  view(tagId: number): void {
    this.entry(tagId).views++;
  }

  peek(tagId: number): PendingUsage | undefined {
    return this.pending.get(tagId);
  }

  /** Hands the batch to `write`; if it throws, the batch is merged back and the error rethrown. */
  drain(write: (batch: ReadonlyMap<number, PendingUsage>) => void): number {
    if (this.pending.size === 0) return 0;
    const batch = this.pending;
    this.pending = new Map();
    try {
      write(batch);
    } catch (e) {
      for (const [id, p] of batch) {
        const cur = this.entry(id);
        cur.queries += p.queries;
        cur.views += p.views;
        if (p.lastUsedAt !== null && (cur.lastUsedAt === null || cur.lastUsedAt < p.lastUsedAt)) cur.lastUsedAt = p.lastUsedAt;
      }
      throw e;
    }
    return batch.size;
  }

  private entry(tagId: number): PendingUsage {
    let p = this.pending.get(tagId);
    if (!p) this.pending.set(tagId, (p = { queries: 0, views: 0, lastUsedAt: null }));
    return p;
  }
}
