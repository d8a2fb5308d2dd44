/**
 * Checks real responses against the OpenAPI document the server serves: the route (method + path
 * template) must be documented with that status, and the body must validate against its schema.
 * `checkRequest` says whether the document accepts a request body, as a client generating requests
 * from it (a fuzzer) would decide before sending it.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';

type Json = Record<string, unknown>;

export interface Conformance {
  check(method: string, path: string, status: number, contentType: string | null, body: unknown): string[];
  /** what the document's request body schema finds wrong with `body` (empty: it accepts it) */
  checkRequest(method: string, path: string, contentType: string, body: unknown): string[];
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
  const operation = (method: string, path: string): { t: string; op: Json } | string => {
    const pathname = path.split('?')[0]!;
    const match = templates.find((x) => x.re.test(pathname));
    if (!match) return `${method} ${pathname}: not in the OpenAPI document`;
    const op = paths[match.t]![method.toLowerCase()] as Json | undefined;
    if (!op) return `${method} ${match.t}: method not documented`;
    return { t: match.t, op };
  };
  return {
    checkRequest(method, path, contentType, body) {
      const found = operation(method, path);
      if (typeof found === 'string') return [found];
      const content = (found.op.requestBody as { content?: Record<string, { schema?: Json }> } | undefined)?.content;
      const schema = content?.[contentType]?.schema;
      if (!schema) return [`${method} ${found.t}: no ${contentType} request body documented`];
      const validate = validatorFor(schema);
      if (validate(body)) return [];
      return (validate.errors ?? []).map((e) => `${method} ${found.t} request: ${e.instancePath || '(body)'} ${e.message}`);
    },
    check(method, path, status, contentType, body) {
      const found = operation(method, path);
      if (typeof found === 'string') return [found];
      const match = found;
      const op = found.op;
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
