/**
 * Templates (seed 000 verbatim, versions, both PATCH kinds, validate through the Nomad sandbox),
 * variables, the authorization matrix, and bad input answered with the right problem while the
 * store stays unchanged.
 */
import { newId } from '../../../core/names';
import { storeKinds } from '../../support/db';
import { closeTemporal, seedTemplate, startHarness, storeSnapshot, type Harness, SEED_JOB, SEED_VOLUMES } from './harness';

afterAll(closeTemporal);

describe.each(storeKinds())('API resources on %s', (kind) => {
  let h: Harness;
  let alice: { token: string; id: string };
  let bob: { token: string; id: string };
  let spaceId = '';

  beforeAll(async () => {
    h = await startHarness(kind);
    const a = await h.user('alice');
    const b = await h.user('bob');
    alice = { token: a.token, id: a.user.id };
    bob = { token: b.token, id: b.user.id };
    expect((await h.call('POST', '/api/v1/groups', { body: { name: 'devs', members: ['alice'] } })).status).toBe(201);
    const created = await h.call('POST', '/api/v1/templates', { body: seedTemplate('example') });
    expect(created.status).toBe(201);
    expect((await h.call('POST', '/api/v1/templates', { body: seedTemplate('devonly', { groups: ['devs'] }) })).status).toBe(201);
    const t = (await h.store.templates.getByName('example'))!;
    spaceId = newId(Date.now());
    await h.store.spaces.insert({ id: spaceId, name: 'mytest', ownerId: alice.id, templateId: t.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null }, Date.now());
  });
  afterAll(async () => h.close());

  test('seed 000 template saved verbatim as 1.0.0, validated by the sandbox', async () => {
    const r = await h.call('GET', '/api/v1/templates/example');
    expect(r.status).toBe(200);
    expect(r.body.version).toBe('1.0.0');
    expect(r.body.job).toBe(SEED_JOB);
    expect(r.body.volumes).toBe(SEED_VOLUMES);
    expect((r.body.versions as unknown[]).length).toBe(1);
  });

  test('versions bump on content change only; PUT cannot rename', async () => {
    await h.call('POST', '/api/v1/templates', { body: seedTemplate('vers') });
    const same = await h.call('PUT', '/api/v1/templates/vers', { body: seedTemplate('vers') });
    expect(same.status).toBe(200);
    expect(same.headers.get('x-knot-version-created')).toBe('none');
    expect(same.body.version).toBe('1.0.0');
    const meta = await h.call('PUT', '/api/v1/templates/vers', { body: seedTemplate('vers', { description: 'changed' }) });
    expect(meta.body.version).toBe('1.0.1');
    const job = await h.call('PUT', '/api/v1/templates/vers', { body: seedTemplate('vers', { description: 'changed', job: SEED_JOB.replace('cpu = 300', 'cpu = 500') }) });
    expect(job.body.version).toBe('1.1.0');
    const versions = await h.call('GET', '/api/v1/templates/vers/versions');
    expect((versions.body.items as { version: string }[]).map((v) => v.version)).toEqual(['1.0.0', '1.0.1', '1.1.0']);
    const rename = await h.call('PUT', '/api/v1/templates/vers', { body: seedTemplate('other') });
    expect(rename.status).toBe(400);
    expect(rename.body.errors).toEqual([expect.objectContaining({ path: 'name' })]);
  });

  test('PATCH: JSON Patch and merge patch; identity paths refused', async () => {
    await h.call('POST', '/api/v1/templates', { body: seedTemplate('patchme') });
    const jp = await h.call('PATCH', '/api/v1/templates/patchme', {
      raw: JSON.stringify([{ op: 'replace', path: '/description', value: 'via json patch' }]),
      contentType: 'application/json-patch+json',
    });
    expect(jp.status).toBe(200);
    expect(jp.body.description).toBe('via json patch');
    expect(jp.body.version).toBe('1.0.1');
    const mp = await h.call('PATCH', '/api/v1/templates/patchme', { raw: JSON.stringify({ displayName: 'Patched', description: null }), contentType: 'application/merge-patch+json' });
    expect(mp.status).toBe(200);
    expect(mp.body.displayName).toBe('Patched');
    expect(mp.body.description).toBe('');
    const before = await storeSnapshot(h.store);
    for (const path of ['/name', '/id', '/version', '/versions/0']) {
      const r = await h.call('PATCH', '/api/v1/templates/patchme', { raw: JSON.stringify([{ op: 'replace', path, value: 'x' }]), contentType: 'application/json-patch+json' });
      expect(r.status).toBe(400);
      expect((r.body.errors as { path: string }[])[0]!.path).toBe(`/${path.split('/')[1]}`);
    }
    const rn = await h.call('PATCH', '/api/v1/templates/patchme', { raw: JSON.stringify({ name: 'renamed' }), contentType: 'application/merge-patch+json' });
    expect(rn.status).toBe(400);
    const tf = await h.call('PATCH', '/api/v1/templates/patchme', { raw: JSON.stringify([{ op: 'test', path: '/description', value: 'nope' }]), contentType: 'application/json-patch+json' });
    expect(tf.status).toBe(409);
    expect(await storeSnapshot(h.store)).toEqual(before);
  });

  test('validate: no side effects; 200 valid/invalid', async () => {
    const before = await storeSnapshot(h.store);
    const ok = await h.call('POST', '/api/v1/templates/validate', { body: seedTemplate('anything') });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ valid: true, errors: [] });
    const bad = await h.call('POST', '/api/v1/templates/validate', { body: { name: 'x', job: 'job "x" { ${{ .space.nope }} }' } });
    expect(bad.status).toBe(200);
    expect(bad.body.valid).toBe(false);
    expect((bad.body.errors as { path: string }[])[0]!.path).toBe('job');
    const unparsable = await h.call('POST', '/api/v1/templates/validate', { body: { name: 'x', job: 'job "x" { group "g" { task "t" { driver = ' } });
    expect(unparsable.body.valid).toBe(false);
    expect(await storeSnapshot(h.store)).toEqual(before);
  });

  test('variables: protected values encrypted and never returned', async () => {
    const r = await h.call('POST', '/api/v1/variables', { body: { name: 'API_KEY', value: 's3cret', protected: true } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: 'API_KEY', value: null, protected: true });
    expect((await h.store.variables.get('API_KEY'))!.value).toMatch(/^v1:/);
    expect(await h.rawDump()).not.toContain('s3cret');
    expect((await h.call('GET', '/api/v1/variables')).text).not.toContain('s3cret');
    const plain = await h.call('POST', '/api/v1/variables', { body: { name: 'REGION', value: 'eu' } });
    expect(plain.body.value).toBe('eu');
    const unprotect = await h.call('PATCH', '/api/v1/variables/API_KEY', { body: { protected: false } });
    expect(unprotect.body.value).toBe('s3cret');
  });

  test('space status, owner-scoped name lookup, pagination', async () => {
    const byName = await h.call('GET', '/api/v1/spaces/mytest', { token: alice.token });
    expect(byName.status).toBe(200);
    expect(byName.body.id).toBe(spaceId);
    expect(byName.body.owner).toBe('alice');
    expect(byName.body.status).toMatchObject({ phase: 'stopped', updateAvailable: false, appliedVersion: null, volumes: [] });
    expect((await h.call('GET', '/api/v1/spaces/mytest', { token: bob.token })).status).toBe(404);
    expect((await h.call('GET', `/api/v1/spaces/${spaceId}`, { token: bob.token })).status).toBe(404);
    expect((await h.call('GET', '/api/v1/spaces/mytest?owner=alice')).status).toBe(200);
    const t = (await h.store.templates.getByName('example'))!;
    for (let i = 0; i < 4; i++) {
      await h.store.spaces.insert({ id: newId(Date.now() + i), name: `page${i}`, ownerId: bob.id, templateId: t.id, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null }, Date.now() + i);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<Harness['call']>> = await h.call('GET', `/api/v1/spaces?owner=bob&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...(page.body.items as { name: string }[]).map((s) => s.name));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(seen).toEqual(['page0', 'page1', 'page2', 'page3']);
    const mine = await h.call('GET', '/api/v1/spaces', { token: alice.token });
    expect((mine.body.items as { name: string }[]).map((s) => s.name)).toEqual(['mytest']);
  });

  test('space list filters server-side by name prefix, phase, template and owner, newest first, each paged; bad values are 400s naming the param', async () => {
    const example = (await h.store.templates.getByName('example'))!;
    const devonly = (await h.store.templates.getByName('devonly'))!;
    const base = Date.now();
    const specs: [string, string, string, 'stopped' | 'running'][] = [
      ['flt-web-1', bob.id, example.id, 'stopped'],
      ['flt-web-2', bob.id, example.id, 'running'],
      ['flt-api', bob.id, devonly.id, 'running'],
      ['flt-web-3', alice.id, example.id, 'running'],
      ['xflt-web', bob.id, example.id, 'stopped'],
    ];
    for (const [i, [name, ownerId, templateId, phase]] of specs.entries()) {
      const id = newId(base + i);
      await h.store.spaces.insert({ id, name, ownerId, templateId, templateRef: '', parameters: {}, shell: 'bash', agentUrl: null }, base + i);
      if (phase !== 'stopped') await h.store.spaces.update(id, { phase }, base + i);
    }
    // every page through the typed client, two at a time
    const names = async (query: Parameters<Harness['client']['listSpaces']>[0], client = h.client) => {
      const out: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listSpaces({ ...query, limit: 2, ...(cursor ? { cursor } : {}) });
        out.push(...page.items.map((s) => s.name));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return out;
    };
    expect(await names({ namePrefix: 'flt-web' })).toEqual(['flt-web-1', 'flt-web-2', 'flt-web-3']);
    expect(await names({ namePrefix: 'flt-', phase: 'running' })).toEqual(['flt-web-2', 'flt-api', 'flt-web-3']);
    expect(await names({ namePrefix: 'flt-', template: 'devonly' })).toEqual(['flt-api']);
    expect(await names({ namePrefix: 'flt-', owner: 'alice' })).toEqual(['flt-web-3']);
    expect(await names({ namePrefix: 'flt-web', order: 'newest' })).toEqual(['flt-web-3', 'flt-web-2', 'flt-web-1']);
    expect(await names({ namePrefix: 'flt-', template: 'nosuchtemplate' })).toEqual([]);
    // a user's filters stay inside their own spaces
    const asAlice = h.client.as(alice.token);
    expect(await names({ namePrefix: 'flt-' }, asAlice)).toEqual(['flt-web-3']);
    expect(await names({ namePrefix: 'flt-', owner: 'bob' }, asAlice)).toEqual([]);

    for (const [query, field] of [
      ['namePrefix=Web', 'query.namePrefix'],
      ['namePrefix=', 'query.namePrefix'],
      ['namePrefix=a%25', 'query.namePrefix'],
      ['order=sideways', 'query.order'],
      ['phase=flying', 'query.phase'],
      ['owner=Not%20A%20User', 'query.owner'],
      ['template=UPPER', 'query.template'],
    ] as const) {
      const r = await h.call('GET', `/api/v1/spaces?${query}`);
      expect({ query, status: r.status, type: r.headers.get('content-type') }).toEqual({ query, status: 400, type: expect.stringContaining('application/problem+json') });
      expect({ query, paths: (r.body.errors as { path: string }[]).map((e) => e.path) }).toEqual({ query, paths: [field] });
    }
    // the OpenAPI document describes the query parameters
    const doc = (await h.call('GET', '/api/v1/openapi.json')).body as { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>> };
    const params = (doc.paths['/api/v1/spaces']?.get?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    expect(params).toEqual(expect.arrayContaining(['owner', 'template', 'phase', 'namePrefix', 'order', 'limit', 'cursor']));
  });

  test('authorization matrix', async () => {
    const A = h.adminToken;
    const cases: [string, string, unknown, { anon: number; user: number; other: number; admin: number }][] = [
      ['GET', '/api/v1/users', undefined, { anon: 401, user: 403, other: 403, admin: 200 }],
      ['POST', '/api/v1/users', { username: 'X' }, { anon: 401, user: 403, other: 403, admin: 400 }],
      ['GET', `/api/v1/users/${alice.id}`, undefined, { anon: 401, user: 200, other: 404, admin: 200 }],
      ['PATCH', `/api/v1/users/${alice.id}`, { bogus: 1 }, { anon: 401, user: 403, other: 403, admin: 400 }],
      ['DELETE', '/api/v1/users/nobody', undefined, { anon: 401, user: 403, other: 403, admin: 404 }],
      ['GET', '/api/v1/groups', undefined, { anon: 401, user: 403, other: 403, admin: 200 }],
      ['POST', '/api/v1/groups', { name: 'Bad Name' }, { anon: 401, user: 403, other: 403, admin: 400 }],
      ['GET', '/api/v1/groups/devs', undefined, { anon: 401, user: 403, other: 403, admin: 200 }],
      ['PATCH', '/api/v1/groups/devs', { nope: true }, { anon: 401, user: 403, other: 403, admin: 400 }],
      ['DELETE', '/api/v1/groups/devs', undefined, { anon: 401, user: 403, other: 403, admin: 409 }],
      ['GET', '/api/v1/tokens', undefined, { anon: 401, user: 200, other: 200, admin: 200 }],
      ['POST', '/api/v1/tokens', { name: '' }, { anon: 401, user: 400, other: 400, admin: 400 }],
      ['GET', '/api/v1/templates', undefined, { anon: 401, user: 200, other: 200, admin: 200 }],
      ['GET', '/api/v1/templates/devonly', undefined, { anon: 401, user: 200, other: 404, admin: 200 }],
      ['GET', '/api/v1/templates/devonly/versions', undefined, { anon: 401, user: 200, other: 404, admin: 200 }],
      ['POST', '/api/v1/templates', { name: 'x' }, { anon: 401, user: 403, other: 403, admin: 400 }],
      ['PUT', '/api/v1/templates/example', { name: 'example' }, { anon: 401, user: 403, other: 403, admin: 400 }],
      ['DELETE', '/api/v1/templates/example', undefined, { anon: 401, user: 403, other: 403, admin: 409 }],
      ['POST', '/api/v1/templates/validate', { name: 'x' }, { anon: 401, user: 403, other: 403, admin: 200 }],
      ['GET', '/api/v1/variables', undefined, { anon: 401, user: 403, other: 403, admin: 200 }],
      ['POST', '/api/v1/variables', { name: '1bad', value: '' }, { anon: 401, user: 403, other: 403, admin: 400 }],
      ['DELETE', '/api/v1/variables/NOPE', undefined, { anon: 401, user: 403, other: 403, admin: 404 }],
      ['GET', '/api/v1/audit', undefined, { anon: 401, user: 403, other: 403, admin: 200 }],
      ['GET', `/api/v1/spaces/${spaceId}`, undefined, { anon: 401, user: 200, other: 404, admin: 200 }],
      ['GET', `/api/v1/spaces/${spaceId}/operations`, undefined, { anon: 401, user: 200, other: 404, admin: 200 }],
      ['PATCH', `/api/v1/spaces/${spaceId}`, {}, { anon: 401, user: 400, other: 404, admin: 400 }],
      // body validation precedes the lookup: a 400 says nothing about whether the space exists
      ['POST', `/api/v1/spaces/${spaceId}/start`, { bogus: 1 }, { anon: 401, user: 400, other: 400, admin: 400 }],
      ['GET', '/api/v1/operations/01jzzzzzzzzzzzzzzzzzzzzzzz', undefined, { anon: 401, user: 404, other: 404, admin: 404 }],
      ['POST', '/api/v1/spaces', { name: 'x', template: 'missing', owner: 'alice' }, { anon: 401, user: 400, other: 403, admin: 400 }],
      ['POST', '/api/v1/spaces', { name: 'x', template: 'devonly', templateVersion: '7.x.x' }, { anon: 401, user: 400, other: 400, admin: 400 }],
    ];
    const before = await storeSnapshot(h.store);
    const failures: string[] = [];
    for (const [method, path, body, want] of cases) {
      for (const [who, token] of [['anon', null], ['user', alice.token], ['other', bob.token], ['admin', A]] as const) {
        const r = await h.call(method, path, { token, ...(body !== undefined ? { body } : {}) });
        if (r.status !== want[who]) failures.push(`${method} ${path} as ${who}: ${r.status} (want ${want[who]}) ${r.text.slice(0, 200)}`);
        if (r.status >= 400) expect(r.headers.get('content-type')).toMatch(/problem\+json/);
      }
    }
    expect(failures).toEqual([]);
    expect(await storeSnapshot(h.store)).toEqual(before);
    const refused = await h.call('GET', '/api/v1/audit?outcome=refused&limit=200');
    expect((refused.body.items as { action: string; actor: string }[]).some((e) => e.action === 'template.delete' && e.actor === 'admin')).toBe(true);
  });

  test('bad input → the right 4xx problem, store unchanged', async () => {
    const big = 'x'.repeat(1024 * 1024 + 10);
    const cases: [string, string, { raw?: string; body?: unknown; contentType?: string; token?: string }, number, string?][] = [
      ['POST', '/api/v1/templates', { raw: '{"name": "x",' }, 400],
      ['POST', '/api/v1/templates', { raw: '{"name" "x"}' }, 400],
      ['POST', '/api/v1/templates', { raw: 'not json' }, 400],
      ['POST', '/api/v1/templates', { raw: '' }, 400],
      ['POST', '/api/v1/templates', { raw: JSON.stringify({ name: big }) }, 413],
      ['POST', '/api/v1/templates', { raw: 'name=x', contentType: 'application/x-www-form-urlencoded' }, 415],
      ['POST', '/api/v1/templates', { raw: '{}', contentType: 'text/plain' }, 415],
      ['POST', '/api/v1/templates', { body: [1, 2] }, 400],
      ['POST', '/api/v1/templates', { body: { ...seedTemplate('extra'), colour: 'red' } }, 400, 'colour'],
      ['POST', '/api/v1/templates', { body: seedTemplate('Bad_Name') }, 400, 'name'],
      ['POST', '/api/v1/templates', { body: seedTemplate('ünïcode') }, 400, 'name'],
      ['POST', '/api/v1/templates', { body: seedTemplate('example') }, 409],
      ['POST', '/api/v1/templates', { body: { name: 'nojob' } }, 400, 'job'],
      ['POST', '/api/v1/templates', { body: seedTemplate('badexpr', { job: SEED_JOB.replace('.space.id', '.space.nope') }) }, 400, 'job'],
      ['POST', '/api/v1/templates', { body: seedTemplate('unparsable', { job: 'job "x" {\n group "g" {' }) }, 400, 'job'],
      ['POST', '/api/v1/templates', { body: seedTemplate('badvol', { volumes: 'volumes: [' }) }, 400, 'volumes'],
      ['POST', '/api/v1/templates', { body: seedTemplate('badgroup', { groups: ['nosuchgroup'] }) }, 400, 'groups[0]'],
      ['POST', '/api/v1/templates', { body: seedTemplate('badtype', { description: 42 }) }, 400, 'description'],
      ['PUT', '/api/v1/templates/missing', { body: seedTemplate('missing') }, 404],
      ['PATCH', '/api/v1/templates/example', { raw: '[{"op":"replace","path":"/name","value":"y"}]', contentType: 'application/json-patch+json' }, 400, '/name'],
      ['PATCH', '/api/v1/templates/example', { raw: '[{"op":"explode","path":"/x"}]', contentType: 'application/json-patch+json' }, 400],
      ['PATCH', '/api/v1/templates/example', { raw: '[{"op":"remove","path":"/nothing/here"}]', contentType: 'application/json-patch+json' }, 400],
      ['PATCH', '/api/v1/templates/example', { raw: '{"job": 5}', contentType: 'application/merge-patch+json' }, 400, 'job'],
      ['PATCH', '/api/v1/templates/example', { body: { description: 'x' } }, 415],
      ['POST', '/api/v1/users', { body: { username: 'ok', timezone: 'Mars/Olympus' } }, 400, 'timezone'],
      ['POST', '/api/v1/users', { body: { username: 'ok', role: 'root' } }, 400, 'role'],
      ['POST', '/api/v1/users', { body: { username: 'alice' } }, 409],
      ['POST', '/api/v1/users', { body: { username: 'ok', email: 'not-an-email' } }, 400, 'email'],
      ['PATCH', '/api/v1/users/admin', { body: { active: false } }, 409],
      ['POST', '/api/v1/groups', { body: { name: 'g1', members: ['ghost'] } }, 400, 'members[0]'],
      ['POST', '/api/v1/tokens', { body: { name: 't', expiresAt: '2000-01-01T00:00:00Z' } }, 400, 'expiresAt'],
      ['POST', '/api/v1/tokens', { body: { name: 't', expiresAt: 'tomorrow' } }, 400, 'expiresAt'],
      ['POST', '/api/v1/spaces', { body: { name: 'x', template: 'missing' } }, 400, 'template'],
      ['POST', '/api/v1/spaces', { body: { name: 'Bad Name!', template: 'example' } }, 400, 'name'],
      ['POST', '/api/v1/spaces', { body: { name: 'x', template: 'example', templateVersion: '9.x.x' } }, 400, 'templateVersion'],
      ['POST', '/api/v1/spaces', { body: { name: 'x', template: 'example', templateVersion: 'banana' } }, 400, 'templateVersion'],
      ['POST', '/api/v1/spaces', { body: { name: 'x', template: 'example', parameters: { nope: 1 } } }, 400, 'parameters.nope'],
      ['POST', '/api/v1/spaces', { body: { name: 'x', template: 'example', shell: 'powershell' } }, 400, 'shell'],
      ['POST', '/api/v1/spaces', { body: { name: 'mytest', template: 'example', owner: 'alice' } }, 409],
      ['POST', '/api/v1/spaces', { body: { name: 'x', template: 'example', owner: 'ghost' } }, 400, 'owner'],
      ['GET', '/api/v1/spaces?limit=0', {}, 400, 'query.limit'],
      ['GET', '/api/v1/spaces?phase=flying', {}, 400, 'query.phase'],
      ['GET', '/api/v1/spaces?namePrefix=Bad!', {}, 400, 'query.namePrefix'],
      ['GET', '/api/v1/spaces?order=sideways', {}, 400, 'query.order'],
      ['GET', '/api/v1/spaces?cursor=garbage', {}, 400, 'query.cursor'],
      ['GET', '/api/v1/spaces?colour=red', {}, 400, 'query.colour'],
      ['POST', '/api/v1/spaces/nosuchspace/start', {}, 404],
      ['DELETE', '/api/v1/spaces/nosuchspace', {}, 404],
      ['POST', '/api/v1/variables', { body: { name: 'X', value: 1 } }, 400, 'value'],
      ['POST', '/api/v1/variables', { body: { name: 'REGION', value: 'x' } }, 409],
      ['GET', '/api/v1/audit?outcome=maybe', {}, 400, 'query.outcome'],
    ];
    const before = await storeSnapshot(h.store);
    const failures: string[] = [];
    for (const [method, path, o, status, field] of cases) {
      const r = await h.call(method, path, o);
      const paths = ((r.body.errors ?? []) as { path: string }[]).map((e) => e.path);
      if (r.status !== status) failures.push(`${method} ${path} ${JSON.stringify(o).slice(0, 80)}: ${r.status} (want ${status}) ${r.text.slice(0, 300)}`);
      else if (!/problem\+json/.test(r.headers.get('content-type') ?? '')) failures.push(`${method} ${path}: not problem+json`);
      else if (field && !paths.includes(field)) failures.push(`${method} ${path}: errors ${JSON.stringify(paths)} lack ${field}`);
    }
    expect(failures).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(await storeSnapshot(h.store)).toEqual(before);
  });

  test('malformed JSON names its position', async () => {
    const r = await h.call('POST', '/api/v1/groups', { raw: '{\n  "name": "g",\n  "description": }' });
    expect(r.status).toBe(400);
    expect(r.body.detail).toMatch(/line 3 column 18/);
    expect(r.body.position).toEqual({ offset: 34, line: 3, column: 18 });
  });

  test('DELETE of a space that is not stopped → 409 before any workflow', async () => {
    await h.store.spaces.update(spaceId, { phase: 'running' }, Date.now());
    const before = await storeSnapshot(h.store);
    const r = await h.call('DELETE', `/api/v1/spaces/${spaceId}`, { token: alice.token });
    expect(r.status).toBe(409);
    expect(r.body.type).toBe('https://knot.dev/problems/space_not_stopped');
    expect(await storeSnapshot(h.store)).toEqual(before);
    await h.store.spaces.update(spaceId, { phase: 'stopped' }, Date.now());
  });
});
