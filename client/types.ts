/**
 * Request and response types of the API, inferred from the zod schemas the API validates with.
 * `import type` only: the client carries no server code at run time.
 */
import type { z } from 'zod';
import type { agentReportSchema } from '../api/agent-routes';
import type { agentStatusView, createdAgentTokenView } from '../api/schemas/agents';
import type { healthView } from '../api/routes/health';
import type { auditList, listAuditQuery } from '../api/schemas/audit';
import type { loginBody, loginView, sessionList, sessionView, setPasswordBody } from '../api/schemas/auth';
import type { uiSettingsView } from '../api/routes/ui-settings';
import type { updatePlanView } from '../api/routes/update-plan';
import type { spaceSshView } from '../api/routes/space-ssh';
import type { fieldErrorSchema, problemSchema } from '../api/schemas/common';
import type { createGroupBody, groupList, groupView, updateGroupBody } from '../api/schemas/groups';
import type {
  actionBody,
  createSpaceBody,
  getSpaceQuery,
  listSpacesQuery,
  operationAccepted,
  operationDetailView,
  operationList,
  operationStepView,
  operationView,
  spaceList,
  spaceView,
  updateSpaceBody,
} from '../api/schemas/spaces';
import type { jsonPatchBody, mergePatchBody, starterList, starterView, templateBody, templateList, templateView, validateTemplateBody, validationResult, versionList } from '../api/schemas/templates';
import type { addSshKeyBody, sshKeyList, sshKeyView } from '../api/schemas/ssh-keys';
import type { createShareBody, shareList, shareView, transferBody } from '../api/schemas/shares';
import type { createTokenBody, createdTokenView, tokenList, tokenView } from '../api/schemas/tokens';
import type { quotaPatchSchema, quotaUsageView } from '../api/schemas/quotas';
import type { createUserBody, updateUserBody, userList, userView, whoamiView } from '../api/schemas/users';
import type { createWebhookBody, createdWebhookView, deliveryList, deliveryView, listDeliveriesQuery, updateWebhookBody, webhookList, webhookView } from '../api/schemas/webhooks';
import type { createVariableBody, updateVariableBody, variableList, variableView } from '../api/schemas/variables';

export type { KnotEvent, ResetEvent, KnotEventType, StepOutcome } from '../core/events';

export type Problem = z.infer<typeof problemSchema>;
export type FieldError = z.infer<typeof fieldErrorSchema>;
export type Health = z.infer<typeof healthView>;

export type Whoami = z.infer<typeof whoamiView>;
export type User = z.infer<typeof userView>;
export type QuotaUsage = z.infer<typeof quotaUsageView>;
export type QuotaPatch = z.input<typeof quotaPatchSchema>;
export type UserList = z.infer<typeof userList>;
export type CreateUser = z.input<typeof createUserBody>;
export type UpdateUser = z.input<typeof updateUserBody>;

export type Group = z.infer<typeof groupView>;
export type GroupList = z.infer<typeof groupList>;
export type CreateGroup = z.input<typeof createGroupBody>;
export type UpdateGroup = z.input<typeof updateGroupBody>;

export type Token = z.infer<typeof tokenView>;
export type TokenList = z.infer<typeof tokenList>;
export type CreatedToken = z.infer<typeof createdTokenView>;
export type CreateToken = z.input<typeof createTokenBody>;

export type Share = z.infer<typeof shareView>;
export type ShareList = z.infer<typeof shareList>;
export type CreateShare = z.input<typeof createShareBody>;
export type TransferSpace = z.input<typeof transferBody>;

export type SshKey = z.infer<typeof sshKeyView>;
export type SshKeyList = z.infer<typeof sshKeyList>;
export type AddSshKey = z.input<typeof addSshKeyBody>;

export type Template = z.infer<typeof templateView>;
export type TemplateList = z.infer<typeof templateList>;
export type TemplateInput = z.input<typeof templateBody>;
export type TemplateValidateInput = z.input<typeof validateTemplateBody>;
export type TemplateValidation = z.infer<typeof validationResult>;
export type TemplateVersionList = z.infer<typeof versionList>;
export type TemplateStarter = z.infer<typeof starterView>;
export type TemplateStarterList = z.infer<typeof starterList>;
export type JsonPatch = z.input<typeof jsonPatchBody>;
export type MergePatch = z.input<typeof mergePatchBody>;

export type Variable = z.infer<typeof variableView>;
export type VariableList = z.infer<typeof variableList>;
export type CreateVariable = z.input<typeof createVariableBody>;
export type UpdateVariable = z.input<typeof updateVariableBody>;

export type Space = z.infer<typeof spaceView>;
export type SpaceList = z.infer<typeof spaceList>;
export type SpacePhase = Space['status']['phase'];
export type CreateSpace = z.input<typeof createSpaceBody>;
export type UpdateSpace = z.input<typeof updateSpaceBody>;
export type ListSpacesQuery = Partial<z.infer<typeof listSpacesQuery>>;
export type GetSpaceQuery = z.input<typeof getSpaceQuery>;
export type OperationRequest = z.input<typeof actionBody>;
export type Operation = z.infer<typeof operationView>;
export type OperationDetail = z.infer<typeof operationDetailView>;
export type OperationStep = z.infer<typeof operationStepView>;
export type OperationList = z.infer<typeof operationList>;
export type OperationAccepted = z.infer<typeof operationAccepted>;

export type AuditList = z.infer<typeof auditList>;
export type ListAuditQuery = Partial<z.infer<typeof listAuditQuery>>;

export type AgentReport = z.input<typeof agentReportSchema>;
export type AgentStatus = z.infer<typeof agentStatusView>;
export type CreatedAgentToken = z.infer<typeof createdAgentTokenView>;

export type Login = z.input<typeof loginBody>;
export type LoginResult = z.infer<typeof loginView>;
export type Session = z.infer<typeof sessionView>;
export type SessionList = z.infer<typeof sessionList>;
export type SetPassword = z.input<typeof setPasswordBody>;
export type UiSettings = z.infer<typeof uiSettingsView>;
export type UpdatePlan = z.infer<typeof updatePlanView>;
export type SpaceSsh = z.infer<typeof spaceSshView>;

export type Webhook = z.infer<typeof webhookView>;
export type CreatedWebhook = z.infer<typeof createdWebhookView>;
export type WebhookList = z.infer<typeof webhookList>;
export type CreateWebhook = z.input<typeof createWebhookBody>;
export type UpdateWebhook = z.input<typeof updateWebhookBody>;
export type WebhookDelivery = z.infer<typeof deliveryView>;
export type WebhookDeliveryList = z.infer<typeof deliveryList>;
export type ListWebhookDeliveriesQuery = Partial<z.infer<typeof listDeliveriesQuery>>;
