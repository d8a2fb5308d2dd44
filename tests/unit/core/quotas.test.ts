import { ErrorType } from '../../../core/errors';
import { applyQuotaPatch, effectiveLimits, quotaRefusal, storageUnitsOfVolumes, unitsOfContent, usageOf } from '../../../core/quotas';

describe('effective limits', () => {
  test("the user's own limit where set, else the most generous group's, else none", () => {
    const groups = [
      { name: 'small', quota: { computeUnits: 2, maxSpaces: 10 } },
      { name: 'big', quota: { computeUnits: 5 } },
      { name: 'none', quota: null },
    ];
    expect(effectiveLimits({ computeUnits: 1 }, groups)).toEqual({
      computeUnits: { limit: 1, source: 'user' },
      maxSpaces: { limit: 10, source: 'group:small' },
      storageUnits: { limit: null, source: null },
    });
    expect(effectiveLimits(null, groups).computeUnits).toEqual({ limit: 5, source: 'group:big' });
    // a user's own 0 is a limit (nothing), not "unset"
    expect(effectiveLimits({ storageUnits: 0 }, groups).storageUnits).toEqual({ limit: 0, source: 'user' });
  });

  test('a patch sets numbers, removes nulls, leaves the rest', () => {
    expect(applyQuotaPatch({ maxSpaces: 2, computeUnits: 3 }, { computeUnits: null, storageUnits: 7 })).toEqual({ maxSpaces: 2, storageUnits: 7 });
    expect(applyQuotaPatch(null, {})).toEqual({});
  });
});

describe('units and usage', () => {
  test('storage: capacity_min summed, GiB rounded up; compute defaults to 1', () => {
    expect(storageUnitsOfVolumes([{ capacityMin: 1e9 }, { capacityMin: 2 ** 30 }, {}])).toBe(2);
    expect(storageUnitsOfVolumes([])).toBe(0);
    expect(unitsOfContent({}, 3)).toEqual({ compute: 1, storage: 3 });
    expect(unitsOfContent({ computeUnits: 4, storageUnits: 0 }, 3)).toEqual({ compute: 4, storage: 0 });
  });

  test('compute counts running and starting spaces, storage the ones with volumes or being started', () => {
    const u = { compute: 2, storage: 5 };
    expect(
      usageOf([
        { running: true, activeStart: false, hasVolumes: true, units: u },
        { running: false, activeStart: true, hasVolumes: false, units: u },
        { running: false, activeStart: false, hasVolumes: true, units: u },
        { running: false, activeStart: false, hasVolumes: false, units: u },
      ]),
    ).toEqual({ maxSpaces: 4, computeUnits: 4, storageUnits: 15 });
  });

  test('a refusal names the quota, usage, request and limit; within the limit there is none', () => {
    const limits = effectiveLimits({ computeUnits: 3 }, []);
    expect(quotaRefusal(limits, { maxSpaces: 9, computeUnits: 2, storageUnits: 50 }, { computeUnits: 1, storageUnits: 10 })).toBeNull();
    const e = quotaRefusal(limits, { maxSpaces: 0, computeUnits: 2, storageUnits: 0 }, { computeUnits: 2 });
    expect(e?.type).toBe(ErrorType.QuotaExceeded);
    expect(e?.status).toBe(403);
    expect(e?.details).toEqual({ quota: 'computeUnits', usage: 2, request: 2, limit: 3, source: 'user' });
  });
});
