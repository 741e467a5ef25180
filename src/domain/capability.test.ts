import { describe, expect, it } from 'vitest';
import { capabilityName, declaredCapabilities, declaresCapability, unknownCapabilityMessage } from './capability.js';

describe('capabilities', () => {
  it('match exactly after trimming both sides; case matters', () => {
    expect(capabilityName('  pdf ')).toBe('pdf');
    expect(declaresCapability([' pdf', 'tables'], 'pdf')).toBe(true);
    expect(declaresCapability(['pdf'], 'PDF')).toBe(false);
    expect(declaresCapability(['pdf-extraction'], 'pdf')).toBe(false);
    expect(() => capabilityName(' ')).toThrow('capability must not be empty');
    expect(() => capabilityName('x'.repeat(201))).toThrow('capability is 201 characters long; the limit is 200');
  });

  it('list each declared capability once, in code-unit order', () => {
    expect(declaredCapabilities([['tables', 'pdf'], [' pdf', 'Graph'], []])).toEqual(['Graph', 'pdf', 'tables']);
  });

  it('name an unknown capability with the likely one, and at most 50 of those declared', () => {
    const many = Array.from({ length: 60 }, (_, i) => `cap${String(i).padStart(2, '0')}`);
    const message = unknownCapabilityMessage('vectors', many);
    expect(message).toMatch(/^no module declares the capability "vectors" \(declared: cap00, cap01, .*, cap49, …\)$/);
    expect(unknownCapabilityMessage('tabels', ['pdf', 'tables'])).toBe(
      'no module declares the capability "tabels" (did you mean "tables"? declared: pdf, tables)',
    );
  });
});
