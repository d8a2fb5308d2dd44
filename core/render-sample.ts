/** A sample render context, for checking at save time that a template renders. */
import { sampleParameterValues, type ParameterDef } from './parameters';
import type { RenderContext } from './render';

/**
 * A plausible context for checking that a template renders: fixed names get realistic
 * placeholders, every known variable a placeholder, every parameter its default or a sample
 * value of its type.
 */
export function sampleRenderContext(
  templateName: string,
  opts: { parameters?: ParameterDef[]; varNames?: Iterable<string> } = {},
): RenderContext {
  const vars: Record<string, string> = {};
  for (const name of opts.varNames ?? []) vars[name] = `sample-${name.toLowerCase().replace(/_/g, '-')}`;
  return {
    space: { id: '01jsamp1e000000000000space', name: 'sample-space' },
    user: { id: '01jsamp1e0000000000000user', username: 'sample-user', email: 'sample-user@example.com', timezone: 'UTC' },
    server: { url: 'https://knot.example.com', wildcard_domain: '*.knot.example.com', agent_endpoint: 'knot.example.com:3010' },
    template: { id: '01jsamp1e000000000template', name: templateName },
    nomad: { dc: 'dc1', region: 'global' },
    var: vars,
    param: sampleParameterValues(opts.parameters ?? []),
  };
}
