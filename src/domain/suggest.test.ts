import { describe, expect, it } from 'vitest';
import { closestName, editDistance, unknownModuleMessage } from './suggest.js';

describe('did you mean', () => {
  it('counts a swap of two neighbouring letters as one edit', () => {
    expect(editDistance('marker', 'marker')).toBe(0);
    expect(editDistance('markr', 'marker')).toBe(1);
    expect(editDistance('mraker', 'marker')).toBe(1);
    expect(editDistance('arangdb', 'arangodb')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests the closest known name within two edits, ignoring case, and nothing for a short or far name', () => {
    const known = ['arangodb', 'marker', 'writer'];
    expect(closestName('markr', known)).toBe('marker');
    expect(closestName('ArangDB', known)).toBe('arangodb');
    expect(closestName('writre', known)).toBe('writer');
    expect(closestName('postgres', known)).toBeUndefined();
    expect(closestName('ab', ['xy'])).toBeUndefined();
    expect(closestName('anything', [])).toBeUndefined();
  });

  it('names an unknown module with the suggestion, else the modules there are', () => {
    expect(unknownModuleMessage('markr', ['arangodb', 'marker'])).toBe(
      'unknown module "markr" (did you mean "marker"?)',
    );
    expect(unknownModuleMessage('nobody', ['arangodb', 'marker'])).toBe(
      'unknown module "nobody" (the modules are: arangodb, marker)',
    );
    expect(unknownModuleMessage('nobody', [])).toBe('unknown module "nobody" (no modules are defined)');
  });
});
