/**
 * The CI-short resilience suite (issue 8), run by `npm test`: ~30 mixed operations per scenario on
 * SQLite while the worker is SIGKILLed, Nomad misbehaves, and the Temporal server restarts. The
 * full suite (200 operations, both stores, the MariaDB restart) is `npm run chaos`.
 */
import { defineResilienceSuite } from '../resilience/scenarios';

defineResilienceSuite('short');
