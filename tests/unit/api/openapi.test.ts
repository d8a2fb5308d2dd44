/**
 * The served OpenAPI document is well-formed (every component resolves), states the constraints
 * the server enforces, and a 405's Allow lists what the document lists for that path.
 */
import Ajv2020 from 'ajv/dist/2020';
import { allRoutes } from '../../../api/app';
import { buildOpenApi } from '../../../api/openapi';
import { allowedMethods } from '../../../api/route';
import { NAME_LENGTHS, NAME_PATTERNS, nameString, type NameKind } from '../../../core/names';
import { templateContentSchema } from '../../../core/template';
import { createGroupBody, updateGroupBody } from '../../../api/schemas/groups';
import { addSshKeyBody } from '../../../api/schemas/ssh-keys';
import { createUserBody, TIME_ZONES, timezoneSchema, updateUserBody } from '../../../api/schemas/users';

type Json = Record<string, unknown>;

function refsIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refsIn(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Json)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

describe('OpenAPI document', () => {
  const doc = buildOpenApi(allRoutes(), { version: '1' }) as { openapi: string; paths: Json; components: { schemas: Record<string, Json> } };

  it('is OpenAPI 3.1 with every reference resolving', () => {
    expect(doc.openapi).toBe('3.1.0');
    const names = new Set(Object.keys(doc.components.schemas));
    for (const ref of refsIn(doc)) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(names.has(ref.slice('#/components/schemas/'.length))).toBe(true);
    }
  });

  it('documents the main resources and the health check', () => {
    const built = buildOpenApi([...allRoutes()], { version: '1' }) as { paths: Json };
    expect(Object.keys(built.paths)).toEqual(expect.arrayContaining(['/api/v1/spaces/{id}', '/api/v1/templates/{name}', '/health']));
  });

  it('has no component that is only a reference to itself or to another alias', () => {
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      const keys = Object.keys(schema);
      const aliasOf = keys.length === 1 && typeof schema.$ref === 'string' ? schema.$ref : null;
      expect({ name, aliasOf }).toEqual({ name, aliasOf: aliasOf === `#/components/schemas/${name}` ? 'self-reference' : aliasOf });
      if (aliasOf) {
        const target = doc.components.schemas[aliasOf.slice('#/components/schemas/'.length)]!;
        expect(Object.keys(target)).not.toEqual(['$ref']);
      }
    }
  });
});

describe('OpenAPI constraints match what the server enforces', () => {
  const doc = buildOpenApi(allRoutes(), { version: '1' }) as { paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, { properties: Record<string, Json> }> } };
  const S = doc.components.schemas;
  const ajv = new Ajv2020({ strict: false, validateFormats: false });

  const nameFields: [string, Json, NameKind][] = [
    ['CreateSpace.name', S.CreateSpace!.properties.name!, 'space'],
    ['CreateSpace.template', S.CreateSpace!.properties.template!, 'template'],
    ['CreateSpace.owner', S.CreateSpace!.properties.owner!, 'user'],
    ['TemplateInput.name', S.TemplateInput!.properties.name!, 'template'],
    ['CreateUser.username', S.CreateUser!.properties.username!, 'user'],
    ['CreateGroup.name', S.CreateGroup!.properties.name!, 'group'],
    ['CreateVariable.name', S.CreateVariable!.properties.name!, 'variable'],
  ];

  it.each(nameFields)('%s states pattern, minLength and maxLength', (_field, schema, kind) => {
    expect(schema.pattern).toBe(NAME_PATTERNS[kind].source);
    expect(schema.minLength).toBe(NAME_LENGTHS[kind].min);
    expect(schema.maxLength).toBe(NAME_LENGTHS[kind].max);
  });

  it.each(nameFields)('%s: the document and the server agree on every sample', (_field, schema, kind) => {
    const documented = ajv.compile(schema);
    const max = NAME_LENGTHS[kind].max;
    const samples = ['', 'a', 'a'.repeat(max), 'a'.repeat(max + 1), 'A', '-a', 'a-', 'a_b', '1abc', 'ab c', 'x'.repeat(max - 1) + '9'];
    for (const v of samples) expect([v, documented(v)]).toEqual([v, nameString(kind).safeParse(v).success]);
  });

  it('the list filters owner and template state the name rules', () => {
    const params = (doc.paths['/api/v1/spaces']!.get as { parameters: { name: string; schema: Json }[] }).parameters;
    const by = Object.fromEntries(params.map((p) => [p.name, p.schema]));
    expect(by.owner).toMatchObject({ pattern: NAME_PATTERNS.user.source, minLength: 1, maxLength: 32 });
    expect(by.template).toMatchObject({ pattern: NAME_PATTERNS.template.source, minLength: 1, maxLength: 63 });
  });

  it('timestamps, emails and URLs carry their formats', () => {
    for (const name of ['Space', 'Template', 'User', 'Group', 'Operation']) {
      const createdAt = S[name]!.properties.createdAt as Json;
      expect([name, createdAt.format]).toEqual([name, 'date-time']);
    }
    expect(JSON.stringify(S.CreateUser!.properties.email)).toContain('"format":"email"');
    expect(JSON.stringify(S.CreateSpace!.properties.agentUrl)).toContain('"format":"uri"');
    expect(JSON.stringify(S.CreateToken!.properties.expiresAt)).toContain('"format":"date-time"');
  });
});

/**
 * What a fuzzer (Schemathesis) found the document accepting and the server refusing, each now
 * stated in the document: for every sample, the documented schema and the zod schema the route
 * validates with give the same answer.
 */
describe('the document and the server agree where a fuzzer found them apart', () => {
  const doc = buildOpenApi(allRoutes(), { version: '1' }) as { components: { schemas: Record<string, { properties: Record<string, Json> } & Json> } };
  const S = doc.components.schemas;
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  /** a component or property schema compiled with the document's components beside it (for $refs) */
  const documented = (schema: Json) => ajv.compile({ allOf: [schema], components: doc.components });
  const agree = (schema: Json, server: { safeParse(v: unknown): { success: boolean } }, samples: unknown[]) => {
    const check = documented(schema);
    for (const v of samples) expect([v, check(v)]).toEqual([v, server.safeParse(v).success]);
  };

  it.each(['maxUptime', 'idleTimeout', 'startTimeout'] as const)('TemplateInput.%s states the duration pattern', (field) => {
    const samples = ['', '0', '5', 'm', 'ms', '5m', '90m', '8h', '45s', '500ms', '1h30m', '2m30s', '1m5ms', '1h1h', '5x', ' 5m', '5m ', '5mm', '1s1m'];
    agree(S.TemplateInput!.properties[field]!, templateContentSchema.shape[field], samples);
  });

  it('TemplateInput states that a nomad template (the default type) needs a job that is not blank, a manual one neither job nor volumes', () => {
    const job = 'job "x" {}';
    agree({ $ref: '#/components/schemas/TemplateInput' }, templateContentSchema, [
      { name: 't' },
      { name: 't', job: '' },
      { name: 't', job: ' \n\t ' },
      { name: 't', job },
      { name: 't', type: 'nomad', job, volumes: '' },
      { name: 't', type: 'nomad' },
      { name: 't', type: 'manual' },
      { name: 't', type: 'manual', job },
      { name: 't', type: 'manual', job: '' },
      { name: 't', type: 'manual', volumes: '' },
      { name: 't', job, maxUptime: '' },
      { name: 't', job, idleTimeout: '10m', startTimeout: '1h30m' },
    ]);
  });

  it('users and groups name their members and groups by the name rules', () => {
    // the route then looks the names up (an unknown one is a 400 naming it); one that cannot be a
    // name at all is refused by the document already
    expect((S.CreateGroup!.properties.members as { items: Json }).items).toMatchObject({ pattern: NAME_PATTERNS.user.source, minLength: 1, maxLength: 32 });
    expect((S.CreateUser!.properties.groups as { items: Json }).items).toMatchObject({ pattern: NAME_PATTERNS.group.source, minLength: 1, maxLength: 64 });
    const users = [[], ['alice'], [''], ['Alice'], ['1abc'], ['a'.repeat(32)], ['a'.repeat(33)], ['ok', 'not ok']];
    agree(S.CreateGroup!.properties.members!, createGroupBody.shape.members, users);
    agree(S.UpdateGroup!.properties.members!, updateGroupBody.shape.members, users);
    const groups = [[], ['devs'], [''], ['Devs'], ['-devs'], ['devs-'], ['d'.repeat(64)], ['d'.repeat(65)]];
    agree(S.CreateUser!.properties.groups!, createUserBody.shape.groups, groups);
  });

  it('a time zone the document lists is one the server accepts, UTC (the default) first', () => {
    const listed = (S.TimeZone as unknown as { enum: string[] }).enum;
    expect(listed).toEqual(TIME_ZONES);
    expect(listed[0]).toBe('UTC');
    expect(listed.length).toBeGreaterThan(300);
    for (const tz of listed) expect([tz, timezoneSchema.safeParse(tz).success]).toEqual([tz, true]);
    for (const body of [{ timezone: '0' }, { timezone: 'Mars/Olympus' }, { timezone: '' }]) {
      expect(documented(S.UpdateUser!)(body)).toBe(false);
      expect(updateUserBody.safeParse(body).success).toBe(false);
    }
  });

  it("an SSH key's name: a pattern every regex engine reads, nothing blank, no control characters", () => {
    const name = S.AddSshKey!.properties.name!;
    expect(JSON.stringify(name)).not.toContain('\\p{');
    // a JSON Schema validator without the u flag (and Python's re) compiles it
    expect(() => new RegExp(name.pattern as string)).not.toThrow();
    const samples = ['laptop', 'alice@host', 'é ü', '😀 key', '', ' ', ' \t ', '  padded  ', 'a\u0007b', 'a\u007fb', 'a\u0085b', 'a\u00a0b', 'x'.repeat(100), 'x'.repeat(101)];
    agree(name, addSshKeyBody.shape.name.unwrap(), samples);
  });
});

describe('405: the methods a concrete path really has', () => {
  const routes = allRoutes();

  it('a literal route beats a parameter route at the same place', () => {
    expect(allowedMethods(routes, '/api/v1/templates/validate')).toEqual(['POST']);
    expect(allowedMethods(routes, '/api/v1/templates/debian').sort()).toEqual(['DELETE', 'GET', 'HEAD', 'PATCH', 'PUT']);
    expect(allowedMethods(routes, '/api/v1/spaces/abc/start')).toEqual(['POST']);
    expect(allowedMethods(routes, '/api/v1/whoami')).toEqual(['GET', 'HEAD']);
    expect(allowedMethods(routes, '/api/v1/nothing-here')).toEqual([]);
  });

  it('for every documented path, Allow is exactly the methods the document lists there', () => {
    const doc = buildOpenApi(routes, { version: '1' }) as { paths: Record<string, Record<string, unknown>> };
    for (const [path, ops] of Object.entries(doc.paths)) {
      const concrete = path.replace(/\{[^}]+\}/g, 'some-value');
      const documented = Object.keys(ops).map((m) => m.toUpperCase());
      if (documented.includes('GET')) documented.push('HEAD');
      expect([path, allowedMethods(routes, concrete).sort()]).toEqual([path, documented.sort()]);
    }
  });
});

describe('GET /metrics in the document', () => {
  it('is documented as text/plain, without user auth, with 401 for a missing scrape token', () => {
    const doc = buildOpenApi(allRoutes(), { version: '1' }) as { paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, { content?: Record<string, unknown> }> }>> };
    const op = doc.paths['/metrics']!.get!;
    expect(op.security).toEqual([]);
    expect(Object.keys(op.responses['200']!.content!)).toEqual(['text/plain']);
    expect(op.responses['401']).toBeDefined();
  });
});
