import { listStubsCarryMeta, orphanJobReason, submittedWithin, volumeIsOrphan, type SpaceFacts } from '../../../core/sweeps';

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

describe('volumeIsOrphan: only volumes knot has a record of, of deleted spaces', () => {
  const now = Date.UTC(2026, 5, 1);
  it.each<[string, { spaceDeletedAt: number | null } | undefined, boolean]>([
    ['no record (a foreign volume, whatever its name)', undefined, false],
    ['a record of a live space', { spaceDeletedAt: null }, false],
    ['a record of a space deleted an hour ago', { spaceDeletedAt: now - 3600_000 }, true],
    ['a record of a space deleted inside the grace period', { spaceDeletedAt: now - 1000 }, false],
  ])('%s', (_name, record, orphan) => {
    expect(volumeIsOrphan(record, now, 10 * 60_000)).toBe(orphan);
  });
});

describe('listStubsCarryMeta: read a job for its meta only on a Nomad that cannot list it', () => {
  it.each<[string, { Meta?: unknown }[], string | null, boolean]>([
    ['a stub carries meta', [{ Meta: { knot_space_id: 's' } }, {}], null, true],
    ['Nomad 1.6 leaves Meta out of jobs without meta', [{}, {}], '1.6.5', true],
    ['Nomad 1.5', [{}], '1.5.0', true],
    ['Nomad 1.4 has no meta in stubs', [{}], '1.4.7', false],
    ['version unknown, no stub with meta', [{}], null, false],
    ['Nomad 2.0', [{}], '2.0.0', true],
  ])('%s → %s', (_, stubs, version, expected) => {
    expect(listStubsCarryMeta(stubs, version)).toBe(expected);
  });
});
