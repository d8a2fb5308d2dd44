/**
 * Checks real responses against the OpenAPI document the server serves: the route (method + path
 * template) must be documented with that status, and the body must validate against its schema.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';

type Json = Record<string, unknown>;

export interface Conformance {
  check(method: string, path: string, status: number, contentType: string | null, body: unknown): string[];
}

export function openApiConformance(doc: Json): Conformance {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const compiled = new Map<Json, ValidateFunction>();
  // each response schema is compiled on its own with the document's components beside it, so the
  // document's `#/components/schemas/...` references resolve against this root
  const validatorFor = (schema: Json): ValidateFunction => {
    let v = compiled.get(schema);
    if (!v) {
      v = ajv.compile({ allOf: [schema], components: doc.components });
      compiled.set(schema, v);
    }
    return v;
  };
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const templates = Object.keys(paths).map((t) => ({ t, re: new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
  return {
    check(method, path, status, contentType, body) {
      const pathname = path.split('?')[0]!;
      const match = templates.find((x) => x.re.test(pathname));
      if (!match) return [`${method} ${pathname}: not in the OpenAPI document`];
      const op = paths[match.t]![method.toLowerCase()] as Json | undefined;
      if (!op) return [`${method} ${match.t}: method not documented`];
      const responses = op.responses as Record<string, Json>;
      const res = responses[String(status)] ?? responses.default;
      if (!res) return [`${method} ${match.t}: status ${status} not documented`];
      const content = res.content as Record<string, { schema?: Json }> | undefined;
      if (!content || status === 204) return [];
      const type = (contentType ?? '').split(';')[0]!.trim();
      const media = content[type];
      if (!media) return [`${method} ${match.t} ${status}: content type ${type} not documented (${Object.keys(content).join(', ')})`];
      if (!media.schema) return [];
      const validate = validatorFor(media.schema);
      if (validate(body)) return [];
      return (validate.errors ?? []).map((e) => `${method} ${match.t} ${status}: ${e.instancePath || '(body)'} ${e.message}`);
    },
  };
}
