/**
 * The OpenAPI 3.1 document, generated from the route declarations and the same zod schemas the
 * routes validate with (zod 4 `z.toJSONSchema`; OpenAPI 3.1 schemas are JSON Schema 2020-12).
 * Named schemas (`.meta({ id })`) become components.
 */
import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE } from './problem';
import { openApiPath, pathParams, type RouteDef } from './route';
import { problemSchema } from './schemas/common';

type Json = Record<string, unknown>;

class SchemaCollector {
  readonly components: Record<string, Json> = {};

  /** JSON Schema for `schema` with every named sub-schema moved to components and referenced. */
  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    const raw = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
    const defs = (raw.$defs ?? {}) as Record<string, Json>;
    const rename = new Map<string, string>();
    for (const [name, def] of Object.entries(defs)) rename.set(name, this.register(name, def, io));
    delete raw.$defs;
    delete raw.$schema;
    const rewrite = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(rewrite);
      if (node && typeof node === 'object') {
        const out: Json = {};
        for (const [k, v] of Object.entries(node as Json)) {
          if (k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')) {
            const name = v.slice('#/$defs/'.length);
            out[k] = `#/components/schemas/${rename.get(name) ?? name}`;
          } else if (k !== '$id') out[k] = rewrite(v);
        }
        return out;
      }
      return node;
    };
    for (const name of rename.values()) this.components[name] = rewrite(this.components[name]) as Json;
    const body = rewrite(raw) as Json;
    // a named root comes back as a bare $ref into its own $defs: it is registered already, and
    // registering the $ref again under the same name would replace the definition with itself
    if (Object.keys(body).length === 1 && typeof body.$ref === 'string') return body;
    const id = z.globalRegistry.get(schema)?.id;
    if (typeof id === 'string') return { $ref: `#/components/schemas/${this.register(id, body, io)}` };
    return body;
  }

  private register(name: string, def: Json, io: 'input' | 'output'): string {
    const clean = { ...def };
    delete clean.$id;
    delete clean.$schema;
    const existing = this.components[name];
    if (!existing || JSON.stringify(existing) === JSON.stringify(clean)) {
      this.components[name] = clean;
      return name;
    }
    const alt = `${name}${io === 'input' ? 'Input' : 'Output'}`;
    this.components[alt] = clean;
    return alt;
  }
}

export function buildOpenApi(routes: readonly RouteDef[], info: { version: string; serverUrl?: string }): Json {
  const schemas = new SchemaCollector();
  const paths: Record<string, Record<string, Json>> = {};
  const problemRef = schemas.convert(problemSchema, 'output');
  for (const r of routes) {
    const parameters: Json[] = pathParams(r.path).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
    if (r.query) {
      const q = schemas.convert(r.query, 'input');
      const props = (q.properties ?? {}) as Record<string, Json>;
      const required = new Set((q.required ?? []) as string[]);
      for (const [name, schema] of Object.entries(props)) {
        parameters.push({ name, in: 'query', required: required.has(name), schema, ...(typeof schema.description === 'string' ? { description: schema.description } : {}) });
      }
    }
    const responses: Record<string, Json> = {};
    for (const [status, doc] of Object.entries(r.responses)) {
      const isProblem = doc.schema === problemSchema;
      responses[status] = {
        description: doc.description,
        ...(doc.schema ? { content: { [isProblem ? PROBLEM_CONTENT_TYPE : (doc.contentType ?? 'application/json')]: { schema: isProblem ? problemRef : schemas.convert(doc.schema, 'output') } } } : {}),
      };
    }
    // every route can be answered with these by the framework
    for (const s of ['404', '405', '500']) {
      if (!responses[s]) responses[s] = { description: s === '405' ? 'method not allowed' : s === '404' ? 'not found' : 'internal error', content: { [PROBLEM_CONTENT_TYPE]: { schema: problemRef } } };
    }
    const op: Json = {
      operationId: `${r.method}${openApiPath(r.path).replace(/[{}]/g, '').split(/[/-]/).filter(Boolean).map((p) => p[0]!.toUpperCase() + p.slice(1)).join('')}`,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      security: r.auth === 'none' ? [] : [{ bearer: [] }],
      ...(r.auth === 'admin' ? { 'x-knot-role': 'admin' } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? {
            requestBody: {
              required: r.bodyRequired,
              content: Object.fromEntries(Object.entries(r.body).map(([ct, s]) => [ct, { schema: schemas.convert(s, 'input') }])),
            },
          }
        : {}),
      responses,
    };
    const p = openApiPath(r.path);
    paths[p] = { ...(paths[p] ?? {}), [r.method]: op };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'knot API', version: info.version, description: 'Developer environments (spaces) on Nomad; every lifecycle change is a Temporal workflow. Errors are application/problem+json.' },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    paths,
    components: {
      schemas: schemas.components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token (knot_…)' } },
    },
  };
}
