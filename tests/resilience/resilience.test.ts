/**
 * The resilience suite as `npm run chaos` runs it (scripts/chaos.sh, KNOT_CHAOS=full): 200 mixed
 * operations per scenario on SQLite and MariaDB. Without KNOT_CHAOS=full it runs the short profile.
 */
import { defineResilienceSuite } from './scenarios';

defineResilienceSuite(process.env.KNOT_CHAOS === 'full' ? 'full' : 'short');
