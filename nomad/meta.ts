/** The Nomad job meta keys knot writes: how knot recognises its own jobs and what it applied. */

/** The space a job belongs to; jobs without it are never touched by knot. */
export const KNOT_SPACE_META = 'knot_space_id';
/** The template version the job was rendered from. */
export const KNOT_VERSION_META = 'knot_template_version';
/** The operation whose start registered the job: a registration run again finds its own. */
export const KNOT_OPERATION_META = 'knot_operation_id';
