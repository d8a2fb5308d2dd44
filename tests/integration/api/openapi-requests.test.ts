/**
 * The requests a fuzzer (Schemathesis) built from the served OpenAPI document and the server
 * refused, sent again: for each, the document's verdict on the body (as a client reads it before
 * sending) and the server's answer agree — refused by the document, a 400 naming the field;
 * accepted by it, a success. The document-side rules are unit-tested in tests/unit/api/openapi.test.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { openApiConformance, type Conformance } from '../../support/openapi-conformance';
import { closeTemporal, startHarness, type Harness } from './harness';

afterAll(closeTemporal);

let h: Harness;
let conformance: Conformance;
/** the last time zone the document lists (UTC is the first) */
let lastTimeZone = '';
beforeAll(async () => {
  h = await startHarness('sqlite');
  const doc = (await h.call('GET', '/api/v1/openapi.json', { token: null })).body;
  conformance = openApiConformance(doc);
  lastTimeZone = (doc as { components: { schemas: { TimeZone: { enum: string[] } } } }).components.schemas.TimeZone.enum.at(-1)!;
  await h.user('alice');
  expect((await h.call('POST', '/api/v1/groups', { body: { name: 'fzg' } })).status).toBe(201);
});
afterAll(async () => h.close());

/** A fresh Ed25519 public key line, as ssh-keygen writes it. */
function ed25519Line(): string {
  const x = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([field(Buffer.from('ssh-ed25519')), field(x)]).toString('base64')} fuzz@example`;
}

const emptySchedule = { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] };

type Case = [what: string, method: string, path: string, body: () => unknown, verdict: { status: number; field?: string }];

const cases: Case[] = [
  [
    'a template with blank durations and a blank job (the fuzzer\'s request)',
    'POST',
    '/api/v1/templates',
    () => ({ description: '', displayName: '', groups: [], idleTimeout: '', job: '', maxUptime: '', name: 'fz0', parameters: [], ports: [{ name: '0', port: 1, public: true }], schedule: emptySchedule, startTimeout: '5m', type: 'nomad', version: '0.0.0', volumes: '' }),
    { status: 400, field: 'maxUptime' },
  ],
  ['a nomad template without a job', 'PUT', '/api/v1/templates/fz1', () => ({ name: 'fz1' }), { status: 400, field: 'job' }],
  ['a manual template with a job', 'POST', '/api/v1/templates', () => ({ name: 'fz2', type: 'manual', job: 'job "x" {}' }), { status: 400, field: 'job' }],
  ['a manual template with durations', 'POST', '/api/v1/templates', () => ({ name: 'fz3', type: 'manual', maxUptime: '8h', idleTimeout: '1h30m', schedule: emptySchedule }), { status: 201 }],
  ['a group with a blank member (the fuzzer\'s request)', 'POST', '/api/v1/groups', () => ({ description: '', members: [''], name: 'fz0' }), { status: 400, field: 'members[0]' }],
  ['a group whose members are spelled as no username can be', 'PATCH', '/api/v1/groups/fzg', () => ({ members: ['alice', 'Not A Name'] }), { status: 400, field: 'members[1]' }],
  ['a user joining a blank group', 'POST', '/api/v1/users', () => ({ username: 'fzu', groups: [''] }), { status: 400, field: 'groups[0]' }],
  ['a user in time zone "0" (the fuzzer\'s request)', 'PATCH', '/api/v1/users/alice', () => ({ active: true, email: '0@0.com', role: 'user', timezone: '0' }), { status: 400, field: 'timezone' }],
  ['a user in the last time zone the document lists', 'PATCH', '/api/v1/users/alice', () => ({ timezone: lastTimeZone }), { status: 200 }],
  ['an SSH key named with blanks only', 'POST', '/api/v1/users/me/ssh-keys', () => ({ publicKey: ed25519Line(), name: '   ' }), { status: 400, field: 'name' }],
  ['an SSH key named with a control character', 'POST', '/api/v1/users/me/ssh-keys', () => ({ publicKey: ed25519Line(), name: 'a\u0085b' }), { status: 400, field: 'name' }],
  ['an SSH key with a plain name', 'POST', '/api/v1/users/me/ssh-keys', () => ({ publicKey: ed25519Line(), name: 'laptop ü' }), { status: 201 }],
];

test.each(cases)('%s: the document and the server agree', async (_what, method, path, body, verdict) => {
  const sent = body();
  const documentSays = conformance.checkRequest(method, path, 'application/json', sent);
  const r = await h.call(method, path, { body: sent });
  if (verdict.field) {
    expect(documentSays).not.toEqual([]);
    expect([r.status, ((r.body.errors ?? []) as { path: string }[]).map((e) => e.path)]).toEqual([verdict.status, expect.arrayContaining([verdict.field])]);
  } else {
    expect(documentSays).toEqual([]);
    expect({ status: r.status, body: r.text.slice(0, 300) }).toMatchObject({ status: verdict.status });
  }
});
