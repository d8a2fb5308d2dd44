import { ErrorType, KnotError, NON_RETRYABLE_TYPES, httpStatusOf, isRetryableType, titleOf } from '../../../core/errors';
import { agentUrlProblem, failureReason, FailureReason, requireDeletable, SPACE_PHASES, type SpacePhase } from '../../../core/lifecycle';
import { readFailureChain, summarizeChain } from '../../../core/failure-chain';
import { parseDuration } from '../../../core/duration';
import { parseDurationMs } from '../../../core/config';

describe('one duration parser for config and templates', () => {
  it.each([
    ['500ms', 500],
    ['45s', 45_000],
    ['90m', 5_400_000],
    ['8h', 28_800_000],
    ['1h30m', 5_400_000],
    ['2m30s', 150_000],
    ['1h0m5s250ms', 3_605_250],
    ['0s', 0],
  ])('%s → %d ms in both', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(parseDurationMs(text)).toBe(ms);
  });
  it.each([[''], ['10'], ['1d'], ['5 m'], ['30m1h'], ['1ms5s'], ['-5m'], ['1.5h'], ['m']])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
    expect(() => parseDurationMs(text)).toThrow(KnotError);
  });
});

describe('the delete rule (API and workflow alike)', () => {
  it.each<[SpacePhase, boolean]>(SPACE_PHASES.map((p) => [p, ['stopped', 'failed', 'deleting'].includes(p)]))('%s → deletable %s', (phase, ok) => {
    const check = () => requireDeletable({ name: 'dev', phase });
    if (ok) expect(check).not.toThrow();
    else expect(check).toThrow(expect.objectContaining({ type: ErrorType.SpaceNotStopped, status: 409, details: { phase } }));
  });
});

describe('the manual-space agent URL rule', () => {
  it.each<['nomad' | 'manual', string | null | undefined, string | null]>([
    ['manual', 'http://agent:3000', null],
    ['manual', null, 'is required for manual templates'],
    ['manual', '', 'is required for manual templates'],
    ['manual', undefined, null],
    ['nomad', null, null],
    ['nomad', undefined, null],
    ['nomad', 'http://agent:3000', 'is only for manual templates'],
  ])('%s with %j → %j', (kind, url, problem) => {
    expect(agentUrlProblem(kind, url)).toBe(problem);
  });
});

describe('the error catalog', () => {
  it('knows every type that reaches an operation or an HTTP answer', () => {
    for (const t of ['operation_stuck', 'operation_not_started', 'compensation_incomplete', 'cancelled', 'method_not_allowed']) {
      expect(Object.values(ErrorType)).toContain(t);
      expect(titleOf(t)).not.toBe('Error');
    }
    expect(httpStatusOf(ErrorType.MethodNotAllowed)).toBe(405);
  });

  it('decides retryability once: the retry policies list what activities throw non-retryable', () => {
    for (const t of ['validation', 'not_found', 'conflict', 'template_render', 'template_parse', 'volume_spec_invalid', 'parameter_invalid', 'encryption_key_missing', 'nomad_request', 'space_not_stopped', 'placement_failed', 'allocation_failed', 'start_timeout']) {
      expect(NON_RETRYABLE_TYPES).toContain(t);
      expect(new KnotError(t as never, 'x').retryable).toBe(false);
    }
    for (const t of [ErrorType.NomadUnavailable, ErrorType.NomadVolumeInUse, ErrorType.AgentUnreachable, ErrorType.Internal]) {
      expect(isRetryableType(t)).toBe(true);
      expect(NON_RETRYABLE_TYPES).not.toContain(t);
      expect(new KnotError(t, 'x').retryable).toBe(true);
    }
    expect(new KnotError(ErrorType.NomadUnavailable, 'x', { retryable: false }).retryable).toBe(false);
  });

  it('writes failure reasons from the catalog', () => {
    expect(failureReason(FailureReason.StartFailed, ErrorType.StartTimeout)).toBe('StartFailed:start_timeout');
  });
});

describe('reading a failure chain', () => {
  class App extends Error {
    constructor(message: string, readonly type: string, readonly nonRetryable: boolean, readonly details: unknown[] = [], override readonly cause?: unknown) {
      super(message);
    }
  }
  class Timeout extends Error {
    constructor(readonly timeoutType: string, override readonly cause?: unknown) {
      super('timeout');
    }
  }
  class Cancelled extends Error {}
  class Wrapper extends Error {
    constructor(override readonly cause: unknown) {
      super('wrapped');
    }
  }
  const kinds = { isApplication: (x: unknown): x is App => x instanceof App, isTimeout: (x: unknown): x is Timeout => x instanceof Timeout, isCancelled: (x: unknown) => x instanceof Cancelled };
  const summarize = (e: unknown) => summarizeChain(readFailureChain(e, kinds), (e as Error).message);

  it.each<[string, unknown, Partial<ReturnType<typeof summarize>>]>([
    ['the innermost typed failure', new Wrapper(new App('outer', 'internal', false, [], new App('bad template', 'template_parse', true, [{ errors: [{ path: 'job', message: 'x' }] }]))), { type: 'template_parse', message: 'bad template', errors: [{ path: 'job', message: 'x' }], retriesExhausted: false }],
    ['a retryable failure past its budget', new Wrapper(new App('nomad down', 'nomad_unavailable', false)), { type: 'nomad_unavailable', retriesExhausted: true }],
    ['a timeout alone', new Wrapper(new Timeout('START_TO_CLOSE')), { type: 'nomad_unavailable', message: 'a step timed out (START_TO_CLOSE) past its retry budget' }],
    ['a cancellation', new Wrapper(new Cancelled()), { type: 'cancelled', cancelled: true }],
    ['anything else', new Error('boom'), { type: 'internal', message: 'boom' }],
  ])('%s', (_name, e, expected) => {
    expect(summarize(e)).toMatchObject(expected);
  });

  it('stops on a cyclic cause', () => {
    const a = new Wrapper(null) as { cause: unknown };
    a.cause = a;
    expect(summarize(a)).toMatchObject({ type: 'internal' });
  });
});
