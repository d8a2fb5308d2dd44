/**
 * Names shared by the API, the worker and the workflows: task queue default, workflow ids and
 * search attributes. Kept free of I/O so workflow code may import it.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DEFAULT_TASK_QUEUE = 'knot';

export const SearchAttributes = {
  spaceId: defineSearchAttributeKey('KnotSpaceId', SearchAttributeType.KEYWORD),
  user: defineSearchAttributeKey('KnotUser', SearchAttributeType.KEYWORD),
  operation: defineSearchAttributeKey('KnotOperation', SearchAttributeType.KEYWORD),
  template: defineSearchAttributeKey('KnotTemplate', SearchAttributeType.KEYWORD),
} as const;

export const ALL_SEARCH_ATTRIBUTES = Object.values(SearchAttributes);

/** One lifecycle operation per space at a time: every lifecycle workflow of a space shares this id. */
export function spaceWorkflowId(spaceId: string): string {
  return `space-${spaceId}`;
}

export const ScheduleIds = {
  autoStop: 'knot-auto-stop',
  cleanup: 'knot-cleanup',
} as const;
