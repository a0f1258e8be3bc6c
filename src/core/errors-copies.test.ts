import { describe, expect, it, vi } from 'vitest';
import { ConfigError, SinkError, SluiceError, SourceError } from './errors.js';

describe('errors of another loaded copy of the module', () => {
  it('are instances of the same-named classes and of no others', async () => {
    vi.resetModules();
    const copy = await import('./errors.js');
    expect(copy.SourceError).not.toBe(SourceError);
    const error = new copy.SourceError('read', 'cannot read');
    expect(error).toBeInstanceOf(SourceError);
    expect(error).toBeInstanceOf(SluiceError);
    expect(error).not.toBeInstanceOf(SinkError);
    expect(error).not.toBeInstanceOf(ConfigError);
    expect(new Error('plain')).not.toBeInstanceOf(SluiceError);
    expect({ name: 'SourceError', code: 'SOURCE_FAILED' }).not.toBeInstanceOf(SourceError);
    expect(new SourceError('read', 'x')).toBeInstanceOf(copy.SluiceError);
  });
});
