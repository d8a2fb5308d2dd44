import { embeddedIds, orphanJobReason, submittedWithin, volumeIsOrphanCandidate, type KnownIds, type SpaceFacts } from '../../../core/sweeps';
import { newId } from '../../../core/names';

describe('embeddedIds', () => {
  const id = newId(Date.UTC(2026, 0, 1));
  const other = newId(Date.UTC(2026, 0, 2));
  it.each([
    [`debian_${id}_data`, [id]],
    [`${id}`, [id]],
    [`home-${id}-${other}`, [id, other]],
    [`dup_${id}_${id}`, [id]],
    ['shared-cache', []],
    [`x${id}`, []],
    [`${id}9`, []],
    [id.toUpperCase(), []],
  ])('%s → %j', (name, ids) => {
    expect(embeddedIds(name)).toEqual(ids);
  });
});

describe('orphanJobReason', () => {
  const facts = (phase: SpaceFacts['phase'], over: Partial<SpaceFacts> = {}): SpaceFacts => ({ phase, deleted: false, nomadJobId: 'job-a', ...over });
  it.each<[string, SpaceFacts | null, boolean, string | null]>([
    ['unknown space', null, false, 'its space is unknown'],
    ['deleted space', facts('deleted', { deleted: true }), false, 'its space was deleted'],
    ['deleted space, operation running', facts('deleting', { deleted: true }), true, 'its space was deleted'],
    ['stopped space', facts('stopped'), false, 'its space is stopped'],
    ['failed space', facts('failed'), false, 'its space is failed'],
    ['stopped space with an operation in flight', facts('stopped'), true, null],
    ['starting space', facts('starting'), false, null],
    ['stopping space', facts('stopping'), false, null],
    ['running this job', facts('running'), false, null],
    ['running another job', facts('running', { nomadJobId: 'job-b' }), false, 'its space runs another job'],
  ])('%s', (_name, space, busy, reason) => {
    expect(orphanJobReason('job-a', space, busy)).toBe(reason);
  });
});

describe('submittedWithin', () => {
  it.each([
    [1_000_000 * 1e6, 1_000_000 + 1000, 5000, true],
    [1_000_000 * 1e6, 1_000_000 + 5000, 5000, false],
    [1_000_000 * 1e6, 1_000_000 + 60_000, 5000, false],
  ])('submitted %d ns, now %d ms, grace %d → %s', (ns, now, grace, within) => {
    expect(submittedWithin(ns, now, grace)).toBe(within);
  });
});

describe('volumeIsOrphanCandidate', () => {
  const now = Date.UTC(2026, 5, 1);
  const old = newId(now - 3600_000);
  const fresh = newId(now - 1000);
  const live = newId(now - 7200_000);
  const deleted = newId(now - 7200_000);
  const user = newId(now - 7200_000);
  const known: KnownIds = { liveSpaces: new Set([live]), deletedSpaces: new Set([deleted]), otherObjects: new Set([user]) };
  it.each<[string, string[], boolean]>([
    ['no ids', [], false],
    ['a deleted space', [deleted], true],
    ['a live space', [live], false],
    ['a user', [user], false],
    ['an unknown old id', [old], true],
    ['an unknown id inside the grace period', [fresh], false],
    ['a deleted space and a live one', [deleted, live], false],
    ['a deleted space and an unknown old id', [deleted, old], true],
  ])('%s', (_name, ids, orphan) => {
    expect(volumeIsOrphanCandidate(ids, known, now, 10 * 60_000)).toBe(orphan);
  });
});
