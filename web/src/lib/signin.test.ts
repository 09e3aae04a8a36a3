import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { signInError, workspaceChoices } from './signin';

describe('signing in to one of several workspaces', () => {
  const offered = [
    { slug: 'acme', name: 'Acme' },
    { slug: 'globex', name: 'Globex' },
  ];
  it('reads the workspaces offered once the password was proven', () => {
    const err = new ApiError('choose one', 'VALIDATION', 'workspace', { code: 'VALIDATION', field: 'workspace', workspaces: offered });
    expect(workspaceChoices(err)).toEqual(offered);
  });
  it('offers nothing for other errors, or a list that is not one', () => {
    expect(workspaceChoices(new ApiError('invalid email or password', 'UNAUTHENTICATED'))).toBeNull();
    expect(workspaceChoices(new ApiError('bad', 'VALIDATION', 'email', { workspaces: offered }))).toBeNull();
    expect(workspaceChoices(new ApiError('old server', 'VALIDATION', 'workspace'))).toBeNull();
    expect(workspaceChoices(new ApiError('odd', 'VALIDATION', 'workspace', { workspaces: [{ slug: 1 }] }))).toBeNull();
    expect(workspaceChoices(new Error('network'))).toBeNull();
  });
  it('words a wrong password and an unknown address alike', () => {
    expect(signInError(new ApiError('invalid email or password', 'UNAUTHENTICATED'))).toBe('Wrong email or password.');
    const limited = new ApiError('too many', 'RATE_LIMITED');
    expect(signInError(limited)).toBe(limited);
  });
});
