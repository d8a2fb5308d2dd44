/**
 * The typed knot API client: one method per route, types from the API's zod schemas, every error
 * a KnotApiError, bearer-token auth, a timeout per request, and the live event stream (SSE over
 * fetch, reconnecting with Last-Event-ID). The CLI, the tests and the benchmarks use only this.
 */
import { KnotApiError, KnotConnectionError } from './errors';
import type { ClientRoute } from './routes';
import { SseParser } from './sse';
import type * as T from './types';

export * from './errors';
export * from './routes';
export * from './terminal';
export type * from './types';

export interface KnotClientOptions {
  /** the server's base URL, e.g. http://127.0.0.1:3000 */
  url: string;
  token?: string | null;
  /** per-request timeout; default 30 s (the event stream has none) */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** extra headers on every request (e.g. X-Request-Id) */
  headers?: Record<string, string>;
}

export interface RequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

/** A whole HTTP answer, for callers that look at the protocol itself (status, headers, raw text). */
export interface RawResponse<B = unknown> {
  status: number;
  headers: Headers;
  body: B;
  text: string;
}

export interface RawRequest extends RequestOptions {
  /** JSON-encoded unless `raw` is given */
  body?: unknown;
  raw?: string | Uint8Array;
  contentType?: string;
  /** null: send no Authorization header */
  token?: string | null;
}


type Query = Record<string, string | number | boolean | undefined>;

interface Call extends RequestOptions {
  params?: Record<string, string>;
  query?: Query;
  body?: unknown;
  contentType?: string;
  token?: string | null;
}

export type SpaceAction = 'start' | 'stop' | 'restart' | 'update';

export interface EventStreamOptions {
  /** resume after this id (replay of what was missed) */
  lastEventId?: number | null;
  signal?: AbortSignal;
  /** reconnect after a dropped connection (default true); the server's `retry:` sets the delay */
  reconnect?: boolean;
  /** called once the server has answered (each connection) */
  onOpen?: () => void;
  /** called when a connection drops and a reconnect is scheduled */
  onDisconnect?: (error: unknown) => void;
}

function enc(v: string): string {
  return encodeURIComponent(v);
}

export class KnotClient {
  readonly url: string;
  private readonly token: string | null;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly headers: Record<string, string>;

  constructor(opts: KnotClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.token = opts.token ?? null;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.fetchFn = opts.fetch ?? fetch;
    this.headers = opts.headers ?? {};
  }

  /** The same server with another token. */
  as(token: string | null): KnotClient {
    return new KnotClient({ url: this.url, token, timeoutMs: this.timeoutMs, fetch: this.fetchFn, headers: this.headers });
  }

  // --- protocol ---

  private pathOf(route: ClientRoute, params: Record<string, string> = {}, query?: Query): string {
    const template = route.slice(route.indexOf(' ') + 1);
    let path = template.replace(/:([A-Za-z_]+)/g, (_m, name: string) => {
      const v = params[name];
      if (v === undefined) throw new Error(`missing path parameter ${name} for ${route}`);
      return enc(v);
    });
    const qs = Object.entries(query ?? {}).filter(([, v]) => v !== undefined);
    if (qs.length) path += `?${qs.map(([k, v]) => `${enc(k)}=${enc(String(v))}`).join('&')}`;
    return path;
  }

  /** Any request, answered as is (no error for 4xx/5xx): for tests of the protocol itself. */
  async raw<B = Record<string, unknown>>(method: string, path: string, opts: RawRequest = {}): Promise<RawResponse<B>> {
    const headers: Record<string, string> = { ...this.headers, ...(opts.headers ?? {}) };
    const token = opts.token === undefined ? this.token : opts.token;
    if (token !== null && headers.authorization === undefined) headers.authorization = `Bearer ${token}`;
    let body: string | Uint8Array | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const target = this.url + path;
    let res: Response;
    let text: string;
    try {
      res = await this.fetchFn(target, { method, headers, signal, ...(body !== undefined ? { body: body as BodyInit } : {}) });
      text = await res.text();
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      const timedOut = timeout.aborted;
      throw new KnotConnectionError(
        timedOut ? `${method} ${path}: no answer within ${opts.timeoutMs ?? this.timeoutMs} ms` : `cannot reach knot at ${this.url}: ${((e as Error).cause as Error)?.message ?? (e as Error).message}`,
        target,
        timedOut,
        { cause: e },
      );
    }
    let parsed: unknown = {};
    if (text && /json/.test(res.headers.get('content-type') ?? '')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = {};
      }
    }
    return { status: res.status, headers: res.headers, body: parsed as B, text };
  }

  private async call<R>(route: ClientRoute, c: Call = {}): Promise<RawResponse<R>> {
    const method = route.slice(0, route.indexOf(' '));
    const res = await this.raw<R>(method, this.pathOf(route, c.params, c.query), {
      ...(c.body !== undefined ? { body: c.body } : {}),
      ...(c.contentType ? { contentType: c.contentType } : {}),
      ...(c.signal ? { signal: c.signal } : {}),
      ...(c.timeoutMs ? { timeoutMs: c.timeoutMs } : {}),
      ...(c.headers ? { headers: c.headers } : {}),
      ...(c.token !== undefined ? { token: c.token } : {}),
    });
    if (res.status >= 400) throw new KnotApiError(res.status, (res.body ?? {}) as Record<string, unknown>);
    return res;
  }

  private async json<R>(route: ClientRoute, c: Call = {}): Promise<R> {
    return (await this.call<R>(route, c)).body;
  }

  private async none(route: ClientRoute, c: Call = {}): Promise<void> {
    await this.call(route, c);
  }

  // --- meta ---

  /** No auth; a 503 answer is returned (it names what is down), not thrown. */
  async health(o: RequestOptions = {}): Promise<{ ok: boolean; health: T.Health }> {
    const res = await this.raw<T.Health>('GET', '/health', { ...o, token: null });
    if (res.status !== 200 && res.status !== 503) throw new KnotApiError(res.status, res.body as Record<string, unknown>);
    return { ok: res.status === 200, health: res.body };
  }
  openApi(o: RequestOptions = {}) {
    return this.json<Record<string, unknown>>('GET /api/v1/openapi.json', { ...o, token: null });
  }
  whoami(o: RequestOptions = {}) {
    return this.json<T.Whoami>('GET /api/v1/whoami', o);
  }

  // --- users, groups, tokens ---

  listUsers(o: RequestOptions = {}) {
    return this.json<T.UserList>('GET /api/v1/users', o);
  }
  createUser(body: T.CreateUser, o: RequestOptions = {}) {
    return this.json<T.User>('POST /api/v1/users', { ...o, body });
  }
  getUser(idOrName: string, o: RequestOptions = {}) {
    return this.json<T.User>('GET /api/v1/users/:id', { ...o, params: { id: idOrName } });
  }
  updateUser(idOrName: string, body: T.UpdateUser, o: RequestOptions = {}) {
    return this.json<T.User>('PATCH /api/v1/users/:id', { ...o, params: { id: idOrName }, body });
  }
  /** usage against the effective quota limits; `me` for the caller */
  userUsage(idOrName: string, o: RequestOptions = {}) {
    return this.json<T.QuotaUsage>('GET /api/v1/users/:id/usage', { ...o, params: { id: idOrName } });
  }
  deleteUser(idOrName: string, o: RequestOptions = {}) {
    return this.none('DELETE /api/v1/users/:id', { ...o, params: { id: idOrName } });
  }
  createUserToken(idOrName: string, body: T.CreateToken, o: RequestOptions = {}) {
    return this.json<T.CreatedToken>('POST /api/v1/users/:id/tokens', { ...o, params: { id: idOrName }, body });
  }
  listGroups(o: RequestOptions = {}) {
    return this.json<T.GroupList>('GET /api/v1/groups', o);
  }
  createGroup(body: T.CreateGroup, o: RequestOptions = {}) {
    return this.json<T.Group>('POST /api/v1/groups', { ...o, body });
  }
  getGroup(name: string, o: RequestOptions = {}) {
    return this.json<T.Group>('GET /api/v1/groups/:name', { ...o, params: { name } });
  }
  updateGroup(name: string, body: T.UpdateGroup, o: RequestOptions = {}) {
    return this.json<T.Group>('PATCH /api/v1/groups/:name', { ...o, params: { name }, body });
  }
  deleteGroup(name: string, o: RequestOptions = {}) {
    return this.none('DELETE /api/v1/groups/:name', { ...o, params: { name } });
  }
  listTokens(o: RequestOptions = {}) {
    return this.json<T.TokenList>('GET /api/v1/tokens', o);
  }
  createToken(body: T.CreateToken, o: RequestOptions = {}) {
    return this.json<T.CreatedToken>('POST /api/v1/tokens', { ...o, body });
  }
  revokeToken(id: string, o: RequestOptions = {}) {
    return this.none('DELETE /api/v1/tokens/:id', { ...o, params: { id } });
  }

  // SSH keys: the caller's own, or (admins) those of `user` (id or username)
  listSshKeys(user?: string, o: RequestOptions = {}) {
    if (user === undefined) return this.json<T.SshKeyList>('GET /api/v1/users/me/ssh-keys', o);
    return this.json<T.SshKeyList>('GET /api/v1/users/:id/ssh-keys', { ...o, params: { id: user } });
  }
  addSshKey(body: T.AddSshKey, user?: string, o: RequestOptions = {}) {
    if (user === undefined) return this.json<T.SshKey>('POST /api/v1/users/me/ssh-keys', { ...o, body });
    return this.json<T.SshKey>('POST /api/v1/users/:id/ssh-keys', { ...o, params: { id: user }, body });
  }
  removeSshKey(keyId: string, user?: string, o: RequestOptions = {}) {
    if (user === undefined) return this.none('DELETE /api/v1/users/me/ssh-keys/:keyId', { ...o, params: { keyId } });
    return this.none('DELETE /api/v1/users/:id/ssh-keys/:keyId', { ...o, params: { id: user, keyId } });
  }

  // --- templates and variables ---

  validateTemplate(body: T.TemplateValidateInput, o: RequestOptions = {}) {
    return this.json<T.TemplateValidation>('POST /api/v1/templates/validate', { ...o, body });
  }
  listTemplates(o: RequestOptions = {}) {
    return this.json<T.TemplateList>('GET /api/v1/templates', o);
  }
  createTemplate(body: T.TemplateInput, o: RequestOptions = {}) {
    return this.json<T.Template>('POST /api/v1/templates', { ...o, body });
  }
  getTemplate(name: string, o: RequestOptions = {}) {
    return this.json<T.Template>('GET /api/v1/templates/:name', { ...o, params: { name } });
  }
  /** Replaces the template; `versionCreated` is the new version, or null when nothing changed. */
  async replaceTemplate(name: string, body: T.TemplateInput, o: RequestOptions = {}): Promise<{ template: T.Template; versionCreated: string | null }> {
    const res = await this.call<T.Template>('PUT /api/v1/templates/:name', { ...o, params: { name }, body });
    const created = res.headers.get('x-knot-version-created');
    return { template: res.body, versionCreated: created && created !== 'none' ? created : null };
  }
  patchTemplate(name: string, patch: { json: T.JsonPatch } | { merge: T.MergePatch }, o: RequestOptions = {}) {
    const json = 'json' in patch;
    return this.json<T.Template>('PATCH /api/v1/templates/:name', {
      ...o,
      params: { name },
      body: json ? patch.json : patch.merge,
      contentType: json ? 'application/json-patch+json' : 'application/merge-patch+json',
    });
  }
  deleteTemplate(name: string, o: RequestOptions = {}) {
    return this.none('DELETE /api/v1/templates/:name', { ...o, params: { name } });
  }
  templateVersions(name: string, o: RequestOptions = {}) {
    return this.json<T.TemplateVersionList>('GET /api/v1/templates/:name/versions', { ...o, params: { name } });
  }
  /** The starter templates shipped with knot; `offered` while the store has no template. */
  templateStarters(o: RequestOptions = {}) {
    return this.json<T.TemplateStarterList>('GET /api/v1/template-starters', o);
  }
  /** Adds a starter as an ordinary template (first version), editable after. */
  addTemplateStarter(name: string, o: RequestOptions = {}) {
    return this.json<T.Template>('POST /api/v1/template-starters/:name', { ...o, params: { name } });
  }
  listVariables(o: RequestOptions = {}) {
    return this.json<T.VariableList>('GET /api/v1/variables', o);
  }
  createVariable(body: T.CreateVariable, o: RequestOptions = {}) {
    return this.json<T.Variable>('POST /api/v1/variables', { ...o, body });
  }
  getVariable(name: string, o: RequestOptions = {}) {
    return this.json<T.Variable>('GET /api/v1/variables/:name', { ...o, params: { name } });
  }
  updateVariable(name: string, body: T.UpdateVariable, o: RequestOptions = {}) {
    return this.json<T.Variable>('PATCH /api/v1/variables/:name', { ...o, params: { name }, body });
  }
  deleteVariable(name: string, o: RequestOptions = {}) {
    return this.none('DELETE /api/v1/variables/:name', { ...o, params: { name } });
  }

  // --- spaces and operations ---

  createSpace(body: T.CreateSpace, o: RequestOptions = {}) {
    return this.json<T.Space>('POST /api/v1/spaces', { ...o, body });
  }
  /** One page; filters `owner`, `template`, `phase`, `namePrefix` (AND), `order` oldest|newest, `cursor` from the previous page. */
  listSpaces(query: T.ListSpacesQuery = {}, o: RequestOptions = {}) {
    return this.json<T.SpaceList>('GET /api/v1/spaces', { ...o, query });
  }
  /** Every page of the listing. */
  async listAllSpaces(query: Omit<T.ListSpacesQuery, 'cursor'> = {}, o: RequestOptions = {}): Promise<T.Space[]> {
    const out: T.Space[] = [];
    let cursor: string | null = null;
    do {
      const page: T.SpaceList = await this.listSpaces({ limit: 200, ...query, ...(cursor ? { cursor } : {}) }, o);
      out.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }
  /** By id, or by name (the caller's; admins may give `owner`). */
  getSpace(idOrName: string, query: T.GetSpaceQuery = {}, o: RequestOptions = {}) {
    return this.json<T.Space>('GET /api/v1/spaces/:id', { ...o, params: { id: idOrName }, query });
  }
  updateSpace(idOrName: string, body: T.UpdateSpace, o: RequestOptions = {}) {
    return this.json<T.OperationAccepted>('PATCH /api/v1/spaces/:id', { ...o, params: { id: idOrName }, body });
  }
  /** Set (or with null remove) the autostart: a setting, not the spec, so 200 with the space and no update. */
  setSpaceAutostart(idOrName: string, autostart: T.Space['autostart'], o: RequestOptions = {}) {
    return this.json<T.Space>('PATCH /api/v1/spaces/:id', { ...o, params: { id: idOrName }, body: { autostart } });
  }
  /** Admins only: exempt the space from dormancy (its template's deleteAfter) or not; a setting, so 200 with the space. */
  setSpaceDormancyExempt(idOrName: string, dormancyExempt: boolean, o: RequestOptions = {}) {
    return this.json<T.Space>('PATCH /api/v1/spaces/:id', { ...o, params: { id: idOrName }, body: { dormancyExempt } });
  }
  spaceAction(idOrName: string, action: SpaceAction, body: T.OperationRequest = {}, o: RequestOptions = {}) {
    return this.json<T.OperationAccepted>(`POST /api/v1/spaces/:id/${action}`, { ...o, params: { id: idOrName }, body });
  }
  startSpace(idOrName: string, body: T.OperationRequest = {}, o: RequestOptions = {}) {
    return this.spaceAction(idOrName, 'start', body, o);
  }
  stopSpace(idOrName: string, body: T.OperationRequest = {}, o: RequestOptions = {}) {
    return this.spaceAction(idOrName, 'stop', body, o);
  }
  restartSpace(idOrName: string, body: T.OperationRequest = {}, o: RequestOptions = {}) {
    return this.spaceAction(idOrName, 'restart', body, o);
  }
  /** Apply the newest matching template version. */
  applyUpdate(idOrName: string, body: T.OperationRequest = {}, o: RequestOptions = {}) {
    return this.spaceAction(idOrName, 'update', body, o);
  }
  deleteSpace(idOrName: string, o: RequestOptions = {}) {
    return this.json<T.OperationAccepted>('DELETE /api/v1/spaces/:id', { ...o, params: { id: idOrName } });
  }
  /** A new agent token for a manual space (replacing the last one); the secret is shown this once. */
  issueAgentToken(idOrName: string, o: RequestOptions = {}) {
    return this.json<T.CreatedAgentToken>('POST /api/v1/spaces/:id/agent-token', { ...o, params: { id: idOrName } });
  }
  /** How to reach the space with SSH, and its host key to pin (known_hosts line). */
  getSpaceSsh(idOrName: string, query: T.GetSpaceQuery = {}, o: RequestOptions = {}) {
    return this.json<T.SpaceSsh>('GET /api/v1/spaces/:id/ssh', { ...o, params: { id: idOrName }, query });
  }
  /** Who the space is shared with. */
  listShares(idOrName: string, o: RequestOptions = {}) {
    return this.json<T.ShareList>('GET /api/v1/spaces/:id/shares', { ...o, params: { id: idOrName } });
  }
  /** Share the space with a user or a group (`{user}` or `{group}`, and `role`: viewer or user). */
  shareSpace(idOrName: string, body: T.CreateShare, o: RequestOptions = {}) {
    return this.json<T.Share>('POST /api/v1/spaces/:id/shares', { ...o, params: { id: idOrName }, body });
  }
  /** Revoke a share; its recipients' open terminals, SSH connections and forwarded ports close. */
  unshareSpace(idOrName: string, shareId: string, o: RequestOptions = {}) {
    return this.none('DELETE /api/v1/spaces/:id/shares/:shareId', { ...o, params: { id: idOrName, shareId } });
  }
  /** Give a stopped space to another user, with its volumes and data. */
  transferSpace(idOrName: string, body: T.TransferSpace, o: RequestOptions = {}) {
    return this.json<T.Space>('POST /api/v1/spaces/:id/transfer', { ...o, params: { id: idOrName }, body });
  }
  spaceOperations(idOrName: string, o: RequestOptions = {}) {
    return this.json<T.OperationList>('GET /api/v1/spaces/:id/operations', { ...o, params: { id: idOrName } });
  }
  getOperation(id: string, o: RequestOptions = {}) {
    return this.json<T.OperationDetail>('GET /api/v1/operations/:id', { ...o, params: { id } });
  }
  cancelOperation(id: string, o: RequestOptions = {}) {
    return this.json<T.OperationAccepted>('POST /api/v1/operations/:id/cancel', { ...o, params: { id } });
  }
  listAudit(query: T.ListAuditQuery = {}, o: RequestOptions = {}) {
    return this.json<T.AuditList>('GET /api/v1/audit', { ...o, query });
  }

  // lifecycle webhooks (admins)
  listWebhooks(o: RequestOptions = {}) {
    return this.json<T.WebhookList>('GET /api/v1/webhooks', o);
  }
  /** the answer carries the signing secret, this once */
  createWebhook(body: T.CreateWebhook, o: RequestOptions = {}) {
    return this.json<T.CreatedWebhook>('POST /api/v1/webhooks', { ...o, body });
  }
  getWebhook(id: string, o: RequestOptions = {}) {
    return this.json<T.Webhook>('GET /api/v1/webhooks/:id', { ...o, params: { id } });
  }
  updateWebhook(id: string, body: T.UpdateWebhook, o: RequestOptions = {}) {
    return this.json<T.Webhook>('PATCH /api/v1/webhooks/:id', { ...o, params: { id }, body });
  }
  deleteWebhook(id: string, o: RequestOptions = {}) {
    return this.none('DELETE /api/v1/webhooks/:id', { ...o, params: { id } });
  }
  listWebhookDeliveries(id: string, query: T.ListWebhookDeliveriesQuery = {}, o: RequestOptions = {}) {
    return this.json<T.WebhookDeliveryList>('GET /api/v1/webhooks/:id/deliveries', { ...o, params: { id }, query });
  }
  redeliverWebhook(id: string, deliveryId: string, o: RequestOptions = {}) {
    return this.json<T.WebhookDelivery>('POST /api/v1/webhooks/:id/deliveries/:deliveryId/redeliver', { ...o, params: { id, deliveryId } });
  }
  testWebhook(id: string, o: RequestOptions = {}) {
    return this.json<T.WebhookDelivery>('POST /api/v1/webhooks/:id/test', { ...o, params: { id } });
  }
  /** The space's agent reports in, with its own per-space agent token. */
  reportAgentState(spaceId: string, report: T.AgentReport, agentToken: string, o: RequestOptions = {}) {
    return this.none('POST /api/v1/agents/:spaceId/state', { ...o, params: { spaceId }, body: report, token: agentToken });
  }

  /** Prometheus text (a scrape token, when configured, is this client's token). */
  async metrics(o: RequestOptions = {}): Promise<string> {
    const res = await this.raw('GET', '/metrics', o);
    if (res.status >= 400) throw new KnotApiError(res.status, res.body as Record<string, unknown>);
    return res.text;
  }

  // --- web sign-in and sessions ---

  /** Opens a session (cookies set by the answer; browsers keep them). */
  login(body: T.Login, o: RequestOptions = {}) {
    return this.json<T.LoginResult>('POST /api/v1/auth/login', { ...o, body, token: null });
  }
  logout(o: RequestOptions = {}) {
    return this.none('POST /api/v1/auth/logout', o);
  }
  listSessions(o: RequestOptions = {}) {
    return this.json<T.SessionList>('GET /api/v1/sessions', o);
  }
  revokeSession(id: string, o: RequestOptions = {}) {
    return this.none('DELETE /api/v1/sessions/:id', { ...o, params: { id } });
  }
  setPassword(idOrName: string, body: T.SetPassword, o: RequestOptions = {}) {
    return this.none('POST /api/v1/users/:id/password', { ...o, params: { id: idOrName }, body });
  }
  uiSettings(o: RequestOptions = {}) {
    return this.json<T.UiSettings>('GET /api/v1/ui/settings', o);
  }
  /** What an update would do to the space's volumes (changes nothing). */
  updatePlan(idOrName: string, query: T.GetSpaceQuery = {}, o: RequestOptions = {}) {
    return this.json<T.UpdatePlan>('GET /api/v1/spaces/:id/update-plan', { ...o, params: { id: idOrName }, query });
  }

  // --- the event stream ---

  /**
   * Live events (GET /api/v1/events) as an async iterator. A dropped connection is reopened with
   * Last-Event-ID = the last id seen, so nothing is missed while the server retains it; when it
   * does not, a `reset` event comes through: refetch what you show. Ends when `signal` aborts.
   */
  async *events(opts: EventStreamOptions = {}): AsyncGenerator<T.KnotEvent | T.ResetEvent> {
    let lastId = opts.lastEventId ?? null;
    let delay = 2000;
    let failures = 0;
    for (;;) {
      if (opts.signal?.aborted) return;
      let parser: SseParser | null = null;
      try {
        const headers: Record<string, string> = { ...this.headers, accept: 'text/event-stream' };
        if (this.token !== null) headers.authorization = `Bearer ${this.token}`;
        if (lastId !== null) headers['last-event-id'] = String(lastId);
        const res = await this.fetchFn(this.url + '/api/v1/events', { headers, ...(opts.signal ? { signal: opts.signal } : {}) });
        if (!res.ok || !res.body) {
          const text = await res.text();
          let problem: Record<string, unknown> = {};
          try {
            problem = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON: the status says enough
          }
          throw new KnotApiError(res.status, problem);
        }
        failures = 0;
        opts.onOpen?.();
        parser = new SseParser();
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          for (const msg of parser.push(decoder.decode(chunk, { stream: true }))) {
            if (msg.id !== null && /^\d+$/.test(msg.id)) lastId = Number(msg.id);
            let data: T.KnotEvent | T.ResetEvent;
            try {
              data = JSON.parse(msg.data) as T.KnotEvent | T.ResetEvent;
            } catch {
              continue;
            }
            yield data;
          }
        }
        throw new KnotConnectionError('the event stream ended', this.url, false);
      } catch (e) {
        if (opts.signal?.aborted) return;
        // auth and bad requests do not get better by retrying
        if (e instanceof KnotApiError && e.status < 500 && e.status !== 429) throw e;
        if (opts.reconnect === false) throw e;
        opts.onDisconnect?.(e);
        delay = parser?.retryMs ?? delay;
        failures++;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(delay * Math.min(failures, 5), 30_000));
          opts.signal?.addEventListener('abort', () => {
            clearTimeout(t);
            resolve();
          }, { once: true });
        });
      }
    }
  }
}
