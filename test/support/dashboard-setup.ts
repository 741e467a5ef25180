// Vitest globalSetup: the browser tests serve dist/dashboard, so it is built (once, before any test file runs)
// when it is missing or older than the dashboard's sources. scripts/test.sh has usually built it already.
import { ensureDashboardBuilt } from './browser.js';

export default function setup(): void {
  ensureDashboardBuilt();
}
