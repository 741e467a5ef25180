/** Who an A2A call acts as: the module of a module-scoped token, or nobody in particular (an unscoped token). */
import type { User } from '@a2a-js/sdk/server';

/**
 * The A2A SDK's user for a call. Its `userName` is the module (the task store scopes by it); empty for a token
 * without a module, which sees every task, as it sees everything in the API.
 */
export class HubCaller implements User {
  constructor(readonly module: string | null) {}

  get isAuthenticated(): boolean {
    return true;
  }

  get userName(): string {
    return this.module ?? '';
  }
}

/** The module the call acts as, from the SDK's context user (as the task store reads it). */
export function moduleOf(user: User | undefined): string | null {
  return user?.userName || null;
}
