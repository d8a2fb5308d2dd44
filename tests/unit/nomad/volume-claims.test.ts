import { allocationMountsVolume, claimDrainingReason, csiVolumeIdsOfJob, volumeInUseReason } from '../../../nomad/volume-claims';

const a = (ID: string, ClientStatus: string) => ({ ID, ClientStatus }) as { ID: string; ClientStatus: 'running' };

describe('volumeInUseReason: a volume is deleted only when nothing can still use it', () => {
  it.each<[string, Parameters<typeof volumeInUseReason>[0], Parameters<typeof volumeInUseReason>[1], RegExp | null]>([
    ['no claims, no allocations', { ReadAllocs: {}, WriteAllocs: {}, Allocations: [] }, [], null],
    ['null maps (a create response, real Nomad)', { ReadAllocs: null, WriteAllocs: null, Allocations: null }, [], null],
    ['a write claim whose value is null (real 1.6 after a claim)', { ReadAllocs: {}, WriteAllocs: { 'aaaaaaaa-1': null }, Allocations: [] }, [], /claimed by allocation aaaaaaaa/],
    ['a read claim', { ReadAllocs: { 'bbbbbbbb-1': null }, WriteAllocs: {}, Allocations: [] }, [], /claimed by allocation bbbbbbbb/],
    ['claims released but an allocation using it still runs', { ReadAllocs: {}, WriteAllocs: {}, Allocations: [a('cccccccc-1', 'running')] as never }, [], /used by running allocation cccccccc/],
    ['only terminal users', { ReadAllocs: {}, WriteAllocs: {}, Allocations: [a('d1', 'complete'), a('d2', 'failed'), a('d3', 'lost')] as never }, [], null],
    ['the space job still has a pending allocation', { ReadAllocs: {}, WriteAllocs: {}, Allocations: [] }, [a('eeeeeeee-1', 'pending')] as never, /the space's job still has allocation eeeeeeee/],
    ['the space job has only terminal allocations', { ReadAllocs: {}, WriteAllocs: {}, Allocations: [] }, [a('f1', 'complete')] as never, null],
    ['the volume is gone', null, [], null],
  ])('%s', (_, volume, jobAllocs, expected) => {
    const reason = volumeInUseReason(volume, jobAllocs);
    if (expected === null) expect(reason).toBeNull();
    else expect(reason).toMatch(expected);
  });
});

describe('allocationMountsVolume', () => {
  const job = (volumes: Record<string, { Type: string; Source: string; PerAlloc?: boolean }>) =>
    ({ ID: 'j', TaskGroups: [{ Name: 'g', Count: 1, Tasks: [], Volumes: volumes }] }) as never;
  it.each<[string, Parameters<typeof allocationMountsVolume>[0], { type: 'csi' | 'host'; name: string }, boolean]>([
    ['its group mounts the CSI volume', { TaskGroup: 'g', Job: job({ home: { Type: 'csi', Source: 'v_home' } }) }, { type: 'csi', name: 'v_home' }, true],
    ['its group mounts another volume (the template dropped this one)', { TaskGroup: 'g', Job: job({ home: { Type: 'csi', Source: 'v_home' } }) }, { type: 'csi', name: 'v_cache' }, false],
    ['same source, other volume type', { TaskGroup: 'g', Job: job({ home: { Type: 'host', Source: 'v_home' } }) }, { type: 'csi', name: 'v_home' }, false],
    ['a per_alloc source', { TaskGroup: 'g', Job: job({ home: { Type: 'csi', Source: 'v_home', PerAlloc: true } }) }, { type: 'csi', name: 'v_home[0]' }, true],
    ['no job to tell from: counted as mounting', { TaskGroup: 'g', Job: null }, { type: 'csi', name: 'v_home' }, true],
  ])('%s → %s', (_, alloc, volume, expected) => {
    expect(allocationMountsVolume(alloc, volume)).toBe(expected);
  });
});

describe('claimDrainingReason: a start waits while a stopped allocation still holds the claim', () => {
  const stub = (ID: string, JobID: string, ClientStatus: string, DesiredStatus = 'run') => ({ ID, JobID, ClientStatus, DesiredStatus }) as never;
  it.each<[string, Parameters<typeof claimDrainingReason>[0], RegExp | null]>([
    ['no claims', { ReadAllocs: {}, WriteAllocs: {}, Allocations: [] }, null],
    ['the volume is gone', null, null],
    ['claimed by a stopped allocation of the old job', { ReadAllocs: {}, WriteAllocs: { 'aaaaaaaa-1': null }, Allocations: [stub('aaaaaaaa-1', 'moving-alice', 'complete')] }, /allocation aaaaaaaa of a stopped job/],
    ['claimed by an allocation Nomad no longer lists', { ReadAllocs: { 'bbbbbbbb-1': null }, WriteAllocs: {}, Allocations: [] }, /allocation bbbbbbbb of a stopped job/],
    ['claimed by an allocation of the old job still shutting down (its job purged)', { ReadAllocs: {}, WriteAllocs: { e1: null }, Allocations: [stub('e1', 'moving-alice', 'running', 'stop')] }, /allocation e1 of a stopped job/],
    ['claimed by a live allocation of another job: for placement to report, not a wait', { ReadAllocs: {}, WriteAllocs: { c1: null }, Allocations: [stub('c1', 'someone-else', 'running')] }, null],
    ['claimed by a stopped allocation of the job itself (its mount would race the old unmount)', { ReadAllocs: {}, WriteAllocs: { d1: null }, Allocations: [stub('d1', 'moving-dave', 'complete')] }, /allocation d1 of a stopped job/],
    ['claimed by a live allocation of the job itself (a start run again): no wait', { ReadAllocs: {}, WriteAllocs: { d2: null }, Allocations: [stub('d2', 'moving-dave', 'running')] }, null],
  ])('%s', (_, volume, expected) => {
    const reason = claimDrainingReason(volume);
    if (expected === null) expect(reason).toBeNull();
    else expect(reason).toMatch(expected);
  });

  it('reads the CSI volume ids of a job, per_alloc sources expanded by count, host volumes left out', () => {
    const job: Parameters<typeof csiVolumeIdsOfJob>[0] = {
      TaskGroups: [
        { Count: 1, Volumes: { home: { Type: 'csi', Source: 'home-vol' }, cache: { Type: 'host', Source: 'cache' } } },
        { Count: 2, Volumes: { data: { Type: 'csi', Source: 'data', PerAlloc: true }, again: { Type: 'csi', Source: 'home-vol' } } },
        { Count: 1, Volumes: null },
      ],
    };
    expect(csiVolumeIdsOfJob(job)).toEqual(['home-vol', 'data[0]', 'data[1]']);
  });
});
