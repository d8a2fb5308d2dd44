import { ErrorType, KnotError } from '../core/errors';

/**
 * A failed Nomad HTTP call. `KnotError.status` already means "the HTTP status knot's own API
 * answers with", so Nomad's status travels as `nomadStatus` (0 = no HTTP answer: network error
 * or timeout).
 */
export class NomadError extends KnotError {
  readonly nomadStatus: number;
  /** Nomad's plain-text error body (or the network error's message). */
  readonly nomadMessage: string;
  /** `METHOD /v1/path`, without the query string. */
  readonly endpoint: string;

  constructor(endpoint: string, nomadStatus: number, nomadMessage: string, cause?: unknown) {
    const { type, retryable } = classifyNomadFailure(nomadStatus, nomadMessage);
    const what = nomadStatus === 0 ? 'no answer' : `${nomadStatus}`;
    super(type, `Nomad ${endpoint} failed (${what}): ${nomadMessage}`, {
      retryable,
      details: { endpoint, nomadStatus, nomadMessage },
      cause,
    });
    this.name = 'NomadError';
    this.nomadStatus = nomadStatus;
    this.nomadMessage = nomadMessage;
    this.endpoint = endpoint;
  }
}

export function isNomadError(e: unknown): e is NomadError {
  return e instanceof NomadError;
}

const VOLUME_IN_USE = /volume in use|in use by allocations/i;

/**
 * Nomad answers many caller mistakes with a bare 500, so the message decides. These never succeed
 * on retry. `Enforcing job modify index` is here too: the job changed underneath the caller, which
 * must re-read it and decide again rather than repeat the same stale write.
 */
const REJECTED_500 = [
  // go-multierror, how Nomad reports a job that fails validation or admission on register
  /^\d+ errors? occurred:/,
  /^(rpc error: )?validation:/i,
  /nonexistent namespace/i,
  /UUID must be 36 characters/i,
  /no CSI plugin named/i,
  /plugin does not support creating volumes/i,
  /Failed to parse/i,
  /Enforcing job modify index/i,
  /volume not found/i,
  /no such volume/i,
  /Permission denied/i,
  /ACL token not found/i,
];

export function classifyNomadFailure(
  status: number,
  message: string,
): { type: typeof ErrorType.NomadRequest | typeof ErrorType.NomadUnavailable | typeof ErrorType.NomadVolumeInUse; retryable: boolean } {
  if (VOLUME_IN_USE.test(message)) return { type: ErrorType.NomadVolumeInUse, retryable: true };
  if (status === 0 || status === 408 || status === 429) return { type: ErrorType.NomadUnavailable, retryable: true };
  if (status >= 400 && status < 500) return { type: ErrorType.NomadRequest, retryable: false };
  if (status >= 500 && REJECTED_500.some((re) => re.test(message))) return { type: ErrorType.NomadRequest, retryable: false };
  if (status >= 500) return { type: ErrorType.NomadUnavailable, retryable: true };
  // A 2xx/3xx the client could not use (e.g. a body that is not JSON): repeating gets the same.
  return { type: ErrorType.NomadRequest, retryable: false };
}

/**
 * The reasons in a go-multierror text (`2 errors occurred:\n\t* a\n\t* b`), the form Nomad uses
 * when it refuses a job on register; null when the text is not one.
 */
export function multierrorReasons(message: string): string[] | null {
  if (!/^\d+ errors? occurred:/.test(message)) return null;
  const reasons = message
    .split('\n')
    .map((line) => /^\s*\*\s+(.*)$/.exec(line)?.[1]?.trim())
    .filter((r): r is string => Boolean(r));
  return reasons.length > 0 ? reasons : null;
}
