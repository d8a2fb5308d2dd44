/** Every route of the API, in mounting order (fixed paths before parameterised siblings). */
import type { RouteDef } from '../route';
import { agentTokenRoutes } from './agent-tokens';
import { auditRoutes } from './audit';
import { authRoutes } from './auth';
import { eventRoutes } from './events';
import { groupRoutes } from './groups';
import { healthRoutes } from './health';
import { metricsRoutes } from './metrics';
import { operationRoutes } from './operations';
import { quotaRoutes } from './quotas';
import { spaceRoutes } from './spaces';
import { spaceShareRoutes } from './space-shares';
import { spaceSshRoutes } from './space-ssh';
import { spaceTransferRoutes } from './space-transfer';
import { sshKeyRoutes } from './ssh-keys';
import { templateStarterRoutes } from './template-starters';
import { templateRoutes } from './templates';
import { tokenRoutes } from './tokens';
import { updatePlanRoutes } from './update-plan';
import { uiSettingsRoutes } from './ui-settings';
import { userRoutes } from './users';
import { variableRoutes } from './variables';
import { webhookRoutes } from './webhooks';
import { whoamiRoutes } from './whoami';

export const API_ROUTES: readonly RouteDef[] = [
  ...healthRoutes,
  ...metricsRoutes,
  ...whoamiRoutes,
  ...authRoutes,
  ...uiSettingsRoutes,
  ...userRoutes,
  ...quotaRoutes,
  ...sshKeyRoutes,
  ...groupRoutes,
  ...tokenRoutes,
  ...templateRoutes,
  ...templateStarterRoutes,
  ...variableRoutes,
  ...spaceRoutes,
  ...agentTokenRoutes,
  ...updatePlanRoutes,
  ...spaceSshRoutes,
  ...spaceShareRoutes,
  ...spaceTransferRoutes,
  ...operationRoutes,
  ...eventRoutes,
  ...auditRoutes,
  ...webhookRoutes,
];
