import { deleteAfterOf, dormancyStep, dormantDeletesAt, dormantSince, type DormancyFacts } from '../../../core/dormancy';

const H = 3600_000;
const WARN = 72 * H;
const facts = (f: Partial<DormancyFacts> = {}): DormancyFacts => ({ since: 1000 * H, deleteAfterMs: 720 * H, exempt: false, warnedAt: null, warnedSince: null, warnedDeletesAt: null, ...f });

describe('dormancy', () => {
  it("reads a template's deleteAfter; absent or malformed never deletes", () => {
    expect(deleteAfterOf({ deleteAfter: '720h' })).toBe(720 * H);
    expect(deleteAfterOf({ deleteAfter: '1h30m' })).toBe(1.5 * H);
    expect(deleteAfterOf({})).toBeUndefined();
    expect(deleteAfterOf({ deleteAfter: 'soon' })).toBeUndefined();
    expect(deleteAfterOf({ deleteAfter: '0s' })).toBeUndefined();
    expect(deleteAfterOf(null)).toBeUndefined();
  });

  it("counts from the last operation's finish, only while stopped and idle", () => {
    const stopped = { phase: 'stopped' as const, updatedAt: 5, lastOperationId: 'op' };
    expect(dormantSince(stopped, { finishedAt: 42 })).toBe(42);
    expect(dormantSince(stopped, { finishedAt: null })).toBeNull();
    expect(dormantSince({ ...stopped, lastOperationId: null }, null)).toBe(5);
    expect(dormantSince({ ...stopped, phase: 'running' }, { finishedAt: 42 })).toBeNull();
    expect(dormantSince({ ...stopped, phase: 'failed' }, { finishedAt: 42 })).toBeNull();
  });

  it('warns a warning period before, then deletes at deleteAfter', () => {
    const f = facts();
    const at = 1720 * H;
    expect(dormantDeletesAt(f)).toBe(at);
    expect(dormancyStep(f, WARN, at - WARN - 1)).toEqual({ action: 'none' });
    expect(dormancyStep(f, WARN, at - WARN)).toEqual({ action: 'warn', deletesAt: at });
    const warned = facts({ warnedAt: at - WARN, warnedSince: 1000 * H, warnedDeletesAt: at });
    expect(dormancyStep(warned, WARN, at - 1)).toEqual({ action: 'none' });
    expect(dormancyStep(warned, WARN, at)).toEqual({ action: 'delete', deletesAt: at });
  });

  it('never deletes without a warning a full period ahead: a late warning moves the time', () => {
    const at = 1720 * H;
    expect(dormancyStep(facts(), WARN, at + H)).toEqual({ action: 'warn', deletesAt: at + H + WARN });
    const late = facts({ warnedAt: at + H, warnedSince: 1000 * H, warnedDeletesAt: at + H + WARN });
    expect(dormantDeletesAt(late)).toBe(at + H + WARN);
    expect(dormancyStep(late, WARN, at + 2 * H)).toEqual({ action: 'none' });
    // deleteAfter shorter than the warning: warned at once, deleted a warning period later
    expect(dormancyStep(facts({ deleteAfterMs: H }), WARN, 1000 * H)).toEqual({ action: 'warn', deletesAt: 1072 * H });
  });

  it('a start or update since the warning resets it: the old warning no longer counts', () => {
    const restarted = facts({ since: 2000 * H, warnedAt: 1650 * H, warnedSince: 1000 * H, warnedDeletesAt: 1720 * H });
    expect(dormantDeletesAt(restarted)).toBe(2720 * H);
    expect(dormancyStep(restarted, WARN, 1720 * H)).toEqual({ action: 'none' });
    expect(dormancyStep(restarted, WARN, 2720 * H)).toEqual({ action: 'warn', deletesAt: 2792 * H });
  });

  it('never for an exempt space, a template without deleteAfter, or a space not stopped', () => {
    for (const f of [facts({ exempt: true }), facts({ deleteAfterMs: undefined }), facts({ since: null })]) {
      expect(dormantDeletesAt(f)).toBeNull();
      expect(dormancyStep(f, WARN, 1e12)).toEqual({ action: 'none' });
    }
  });
});
