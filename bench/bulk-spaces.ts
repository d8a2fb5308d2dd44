/** Many space rows written straight into the store in batches (for the API and sweep benchmarks). */
import { newId } from '../core/names';
import type { Db } from '../store/db';
import type { SpacePhase } from '../store/spaces';

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

/** Inserts the rows in transactions of `batchSize`; returns the ids in insertion (= created_at) order. */
export async function insertSpaces(db: Db, spec: BulkSpaces): Promise<string[]> {
  const batchSize = spec.batchSize ?? 500;
  const base = Date.now() - spec.count - 1000;
  const ids: string[] = [];
  for (let from = 0; from < spec.count; from += batchSize) {
    const rows: Record<string, unknown>[] = [];
    for (let i = from; i < Math.min(spec.count, from + batchSize); i++) {
      const createdAt = base + i;
      const id = newId(createdAt);
      ids.push(id);
      const deletedAt = spec.deletedAt?.(i) ?? null;
      const name = `${spec.namePrefix ?? 'bulk'}${i}`;
      rows.push({
        id,
        name,
        owner_id: spec.ownerId,
        active_name: deletedAt === null ? name : null,
        template_id: spec.templateId,
        template_ref: '',
        parameters_json: '{}',
        shell: 'bash',
        agent_url: null,
        phase: deletedAt === null ? spec.phase(i) : 'deleted',
        reason: '',
        message: '',
        applied_version: spec.appliedVersion ?? null,
        applied_hash: null,
        nomad_job_id: null,
        last_operation_id: null,
        started_at: spec.startedAt?.(i) ?? null,
        created_at: createdAt,
        updated_at: createdAt,
        deleted_at: deletedAt,
      });
    }
    await db.transaction(async (trx) => {
      // SQLite caps bound variables per statement: insert in slices of 50 rows (21 columns each)
      for (let k = 0; k < rows.length; k += 50) await trx('spaces').insert(rows.slice(k, k + 50));
    });
  }
  return ids;
}
