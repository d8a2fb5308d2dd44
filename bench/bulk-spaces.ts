/** Many space rows written straight into the store in batches (for the API and sweep benchmarks). */
import { newId } from '../core/names';
import type { Store } from '../store/store';
import type { SpacePhase } from '../store/model';

export interface BulkSpaces {
  count: number;
  ownerId: string;
  templateId: string;
  /** phase of row i */
  phase: (i: number) => SpacePhase;
  /** started_at of row i (running spaces); null otherwise */
  startedAt?: (i: number) => number | null;
  /** deleted_at of row i; null for live spaces */
  deletedAt?: (i: number) => number | null;
  appliedVersion?: string | null;
  namePrefix?: string;
  batchSize?: number;
}

/**
 * Inserts the spaces through the store interface, `batchSize` to a transaction, so every driver is
 * loaded the same way; returns the ids in insertion (= createdAt) order.
 */
export async function insertSpaces(store: Store, spec: BulkSpaces): Promise<string[]> {
  const batchSize = spec.batchSize ?? 500;
  const base = Date.now() - spec.count - 1000;
  const ids: string[] = [];
  for (let from = 0; from < spec.count; from += batchSize) {
    const batch: { id: string; name: string; createdAt: number; phase: SpacePhase; startedAt: number | null; deletedAt: number | null }[] = [];
    for (let i = from; i < Math.min(spec.count, from + batchSize); i++) {
      const createdAt = base + i;
      batch.push({ id: newId(createdAt), name: `${spec.namePrefix ?? 'bulk'}${i}`, createdAt, phase: spec.phase(i), startedAt: spec.startedAt?.(i) ?? null, deletedAt: spec.deletedAt?.(i) ?? null });
    }
    await store.transaction(async (tx) => {
      for (const b of batch) {
        await tx.spaces.insert({ id: b.id, name: b.name, ownerId: spec.ownerId, templateId: spec.templateId, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null }, b.createdAt);
        if (b.deletedAt !== null) {
          await tx.spaces.markDeleted(b.id, b.deletedAt);
        } else if (b.phase !== 'stopped' || spec.appliedVersion) {
          await tx.spaces.update(b.id, { phase: b.phase, startedAt: b.startedAt, appliedVersion: spec.appliedVersion ?? null }, b.createdAt);
        }
      }
    });
    ids.push(...batch.map((b) => b.id));
  }
  return ids;
}

export type SweepShare = 'running' | 'due' | 'stopped' | 'deleted';

/**
 * The sweep benchmarks' mix: 60% running (1 in 60 of those started 2 h ago, past a 1 h maxUptime:
 * due for auto-stop), 30% stopped, 10% deleted 30 days ago (past the 7-day retention).
 */
export function sweepShare(i: number): SweepShare {
  const r = i % 100;
  if (r < 60) return r === 0 ? 'due' : 'running';
  return r < 90 ? 'stopped' : 'deleted';
}

export function insertSweepMix(store: Store, spec: { count: number; ownerId: string; templateId: string; appliedVersion: string; now: number; batchSize: number }): Promise<string[]> {
  const { now } = spec;
  return insertSpaces(store, {
    count: spec.count,
    ownerId: spec.ownerId,
    templateId: spec.templateId,
    appliedVersion: spec.appliedVersion,
    phase: (i) => (sweepShare(i) === 'stopped' ? 'stopped' : 'running'),
    startedAt: (i) => (sweepShare(i) === 'due' ? now - 2 * 3600_000 : sweepShare(i) === 'running' ? now - 10 * 60_000 : null),
    deletedAt: (i) => (sweepShare(i) === 'deleted' ? now - 30 * 24 * 3600_000 : null),
    batchSize: spec.batchSize,
  });
}
