import { describe, expect, it } from 'vitest';
import { parentChoice } from './snapshot.js';

describe('the --parent option', () => {
  it('is the latest snapshot by default, none with --no-parent, or the one named', () => {
    expect(parentChoice({})).toEqual({ kind: 'latest' });
    expect(parentChoice({ parent: false })).toEqual({ kind: 'none' });
    expect(parentChoice({ parent: '3f9c0a' })).toEqual({ kind: 'id', id: '3f9c0a' });
  });

  it('refuses something that cannot be a snapshot id before anything is read', () => {
    expect(() => parentChoice({ parent: 'latest' })).toThrow(/--parent latest is not a snapshot id/);
    expect(() => parentChoice({ parent: '3f9c' })).toThrow(/6 or more/);
  });
});
