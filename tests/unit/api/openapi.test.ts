/** The served OpenAPI document is well-formed: every component resolves to a real schema. */
import { allRoutes } from '../../../api/app';
import { buildOpenApi } from '../../../api/openapi';

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
