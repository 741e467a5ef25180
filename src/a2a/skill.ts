/**
 * Which module an A2A message asks, and what it asks: the skill named in the message's metadata (`skill` or
 * `skillId`, in the message or the request) is a module, or a capability routed like any ask by capability; with
 * no skill named, the only module there is. Anything else is the caller's mistake, answered as invalid params
 * naming the skills to choose from.
 */
import type { Message, Part } from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import { isHubError } from '../domain/errors.js';
import type { Hub } from '../hub.js';
import { skillsOf } from './card.js';

/** The skill a message names, if any. */
function namedSkill(...metadata: (Record<string, unknown> | undefined)[]): string | undefined {
  for (const m of metadata) {
    const named = m?.skill ?? m?.skillId;
    if (named === undefined) continue;
    if (typeof named !== 'string' || named.trim() === '')
      throw new RequestMalformedError('metadata.skill must be a skill id (a module or a capability) as a string');
    return named.trim();
  }
  return undefined;
}

/** The module that answers `message`. */
export async function moduleFor(
  hub: Hub,
  message: Message,
  requestMetadata: Record<string, unknown> | undefined,
): Promise<string> {
  const skills = skillsOf(await hub.modules.list()).map((s) => s.id);
  const listed = skills.length ? `the skills are ${skills.join(', ')}` : 'the hub has no modules';
  const named = namedSkill(message.metadata, requestMetadata);
  if (named === undefined) {
    if (skills.length === 1) return skills[0] as string;
    throw new RequestMalformedError(
      `name the skill to ask in the message's metadata ("metadata": {"skill": "<id>"}): ${listed}`,
    );
  }
  if (skills.includes(named)) return named;
  try {
    return (await hub.routeCapability(named)).chosen;
  } catch (err) {
    if (isHubError(err, 'not_found')) throw new RequestMalformedError(`no skill or capability ${named}: ${listed}`);
    if (isHubError(err, 'unavailable') || isHubError(err, 'validation')) throw new RequestMalformedError(err.message);
    throw err;
  }
}

/** A part as the question's text: text as it is, data as JSON, a file by its name and address. */
function partText(part: Part): string {
  const content = part.content;
  if (!content) return '';
  switch (content.$case) {
    case 'text':
      return content.value;
    case 'data':
      return JSON.stringify(content.value, null, 2);
    case 'url':
      return `[file ${part.filename || ''} at ${content.value}]`.replace('  ', ' ');
    case 'raw':
      return `[file ${part.filename || 'without a name'}, ${content.value.length} bytes, not included]`;
  }
}

/** The question a message asks: its parts joined; invalid params when it has no text at all. */
export function questionOf(message: Message): string {
  const text = message.parts
    .map(partText)
    .filter((t) => t !== '')
    .join('\n\n');
  if (text.trim() === '') throw new RequestMalformedError('the message has no text to ask: give it a text part');
  return text;
}
