import { eventData, eventOperationId, type EventSpace } from '../../../core/events';

const space: EventSpace = { name: 'mytest', ownerId: 'u1', phase: 'starting', lastOperationId: 'op-last' };

describe('the event every store records', () => {
  it.each([
    ['the operation the facts name', { operationId: 'op-named' }, space, 'op-named'],
    ['none when the facts say none', { operationId: null }, space, null],
    ["the space's last operation when the facts leave it out", {}, space, 'op-last'],
    ['none for a space that is gone', {}, null, null],
  ])('is about %s', (_what, named, s, expected) => {
    expect(eventOperationId({ type: 'space.phase', spaceId: 's1', ...named }, s)).toBe(expected);
  });

  it('carries the facts, and the space and operation as the store has them then', () => {
    const at = Date.parse('2026-12-05T10:00:00Z');
    expect(eventData({ type: 'operation.step', spaceId: 's1', step: 'registering job', stepStatus: 'succeeded', durationMs: 21 }, space, { type: 'start', status: 'running' }, at)).toEqual({
      at: '2026-12-05T10:00:00.000Z',
      type: 'operation.step',
      spaceId: 's1',
      spaceName: 'mytest',
      operationId: 'op-last',
      operationType: 'start',
      phase: 'starting',
      status: 'running',
      step: 'registering job',
      stepStatus: 'succeeded',
      durationMs: 21,
      updateAvailable: null,
      error: null,
      agent: null,
    });
  });

  it('carries the agent status of a space.agent event', () => {
    const agent = { state: 'disconnected' as const, since: '2026-12-05T10:00:00.000Z', version: null, services: {}, sessions: 0, lastSeen: null, lastActivity: null, connected: false };
    expect(eventData({ type: 'space.agent', spaceId: 's1', agent }, space, null, 0)).toMatchObject({ type: 'space.agent', agent });
  });

  it('leaves what it does not know empty, never undefined', () => {
    const e = eventData({ type: 'space.deleted', spaceId: 'gone' }, null, null, 0);
    expect(Object.values(e).filter((v) => v === undefined)).toEqual([]);
    expect(e).toMatchObject({ spaceName: null, operationId: null, phase: null, status: null, agent: null });
  });
});
