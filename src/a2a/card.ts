/**
 * The hub's agent card (`/.well-known/agent-card.json`): the hub is one A2A agent whose skills are its modules —
 * each module a skill named by the module, described by its description and tagged with its capabilities — reached
 * at one JSON-RPC endpoint (`/a2a`, A2A v1.0 and v0.3 method names) with the API's bearer tokens.
 */
import { AgentCard } from '@a2a-js/sdk';
import { settingsSummary } from '../domain/settings-summary.js';
import type { Module } from '../domain/types.js';

/** The security scheme's name in the card. */
const BEARER = 'bearer';

/** What the card says besides the skills. */
export interface CardOptions {
  /** The JSON-RPC endpoint as the caller reaches it (`http://host:port/a2a`). */
  endpoint: string;
  /** The hub's version. */
  version: string;
  /** Whether every call needs a token (any bind but loopback). */
  requireToken: boolean;
}

/** The skills: one per module that may be asked (not removed from config.yaml), in name order. */
export function skillsOf(
  modules: readonly Module[],
): { id: string; name: string; description: string; tags: string[] }[] {
  return modules
    .filter((m) => m.removedAt === null)
    .map((m) => ({
      id: m.name,
      name: m.name,
      description: m.description || `the module ${m.name}`,
      tags: settingsSummary(m.config).capabilities,
    }));
}

/** The card for `modules`, with the endpoint and auth scheme of `options`. */
export function agentCard(modules: readonly Module[], options: CardOptions): AgentCard {
  return AgentCard.fromJSON({
    name: 'claude-comms',
    description:
      'A hub of AI coding agents, each answering for its own repository. Name the module to ask as the skill in the message metadata ("skill": "<id>"), or a capability one of them declares.',
    supportedInterfaces: ['1.0', '0.3'].map((protocolVersion) => ({
      url: options.endpoint,
      protocolBinding: 'JSONRPC',
      protocolVersion,
    })),
    version: options.version,
    capabilities: { streaming: true, pushNotifications: true },
    securitySchemes: {
      [BEARER]: {
        httpAuthSecurityScheme: {
          scheme: 'Bearer',
          description: 'a claude-comms API token (claude-comms token create); not needed on a loopback bind',
        },
      },
    },
    securityRequirements: options.requireToken ? [{ schemes: { [BEARER]: { list: [] } } }] : [],
    defaultInputModes: ['text/plain', 'application/json'],
    defaultOutputModes: ['text/plain'],
    skills: skillsOf(modules).map((s) => ({ ...s, examples: [] })),
  });
}
