/** Polling until a condition holds (shared with the scripts: `scripts/lib/wait.ts`). */
export { waitUntil } from '../../scripts/lib/wait.js';
