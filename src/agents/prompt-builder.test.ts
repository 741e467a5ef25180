import { describe, expect, it } from 'vitest';
import { buildSystemPrompt, HISTORY_LIMIT } from './prompt-builder.js';

const arangodb = { name: 'arangodb', description: 'The database layer.', capabilities: ['graph', 'aql'] };

describe('buildSystemPrompt', () => {
  it('says who the agent is, what it can do and who asks', () => {
    const prompt = buildSystemPrompt({ module: arangodb, asker: 'marker' });
    expect(prompt).toContain('the module "arangodb"');
    expect(prompt).toContain('The database layer.');
    expect(prompt).toContain('Your capabilities: graph, aql.');
    expect(prompt).toContain('The module "marker" is asking you');
    expect(prompt).not.toContain('conversation so far');
    expect(prompt).not.toContain('JSON Schema');
  });

  it('carries the thread when a session must start anew', () => {
    const prompt = buildSystemPrompt({
      module: arangodb,
      asker: 'marker',
      history: [
        { author: 'marker', role: 'user', content: 'Which structure?' },
        { author: 'arangodb', role: 'assistant', content: 'Sections with page spans.' },
      ],
    });
    expect(prompt).toContain('[marker (user)]\nWhich structure?\n\n[arangodb (assistant)]\nSections with page spans.');
  });

  it('keeps the most recent part of a very long thread', () => {
    const long = 'x'.repeat(HISTORY_LIMIT);
    const prompt = buildSystemPrompt({
      module: arangodb,
      asker: 'marker',
      history: [
        { author: 'marker', role: 'user', content: `OLDEST ${long}` },
        { author: 'arangodb', role: 'assistant', content: 'NEWEST' },
      ],
    });
    expect(prompt).toContain('[… earlier messages omitted …]');
    expect(prompt).toContain('NEWEST');
    expect(prompt).not.toContain('OLDEST');
  });

  it('requires a JSON answer satisfying the schema for a structured question', () => {
    const schema = { type: 'object', required: ['sections'], properties: { sections: { type: 'array' } } };
    const prompt = buildSystemPrompt({ module: arangodb, asker: 'marker', schema });
    expect(prompt).toContain('single JSON document');
    expect(prompt).toContain(JSON.stringify(schema, null, 2));
  });

  it('ends with the module’s own append', () => {
    expect(buildSystemPrompt({ module: arangodb, asker: 'marker', append: ' Be brief. ' }).endsWith('Be brief.')).toBe(
      true,
    );
  });
});
