/**
 * A template as a file (`knot template push`, the starters in examples/templates/): YAML or JSON
 * with the template's fields, where `job:` and `volumes:` may name a file next to it
 * (`job: job.nomad.hcl`) instead of holding the text. No imports: the CLI loads this on every push.
 */
export const TEMPLATE_FILE_FIELDS = ['job', 'volumes'] as const;

/** The file a `job:`/`volumes:` value names, or null when the value is the text itself. */
export function templateFileReference(value: unknown): string | null {
  return typeof value === 'string' && !value.includes('\n') && /\.(hcl|ya?ml|nomad)$/.test(value) ? value : null;
}
