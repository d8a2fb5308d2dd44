/** The fast ISO-8601 formatter lives in core/ (core/agent-status.ts uses it too); the API's name for it. */
export { isoOf } from '../core/iso-time';
