import { API_TOKEN_ROLES } from '../../orchestrator/api-tokens.js';
import type { CommandOption, CommandSpec } from '../command.js';
import { PROJECT_OPTIONS } from './project-options.js';

const JSON_OPTION: CommandOption = { flags: '--json', description: 'print JSON' };

/** `sluice tokens create`: its name, summary, arguments and options. */
export const tokensCreateSpec: CommandSpec = {
  name: 'tokens create',
  summary: 'Create an API token with a role (printed once, stored hashed)',
  arguments: [
    { name: 'name', description: 'the token name, recorded as the actor of its actions' },
  ],
  options: [
    ...PROJECT_OPTIONS,
    { flags: '--role <role>', description: `what it may do: ${API_TOKEN_ROLES.join(', ')}` },
    JSON_OPTION,
  ],
};

/** `sluice tokens list`: its name, summary, arguments and options. */
export const tokensListSpec: CommandSpec = {
  name: 'tokens list',
  summary: 'List the API tokens: names, roles, created, last used (never the tokens)',
  arguments: [],
  options: [...PROJECT_OPTIONS, JSON_OPTION],
};

/** `sluice tokens revoke`: its name, summary, arguments and options. */
export const tokensRevokeSpec: CommandSpec = {
  name: 'tokens revoke',
  summary: 'Revoke an API token (its requests are refused at once)',
  arguments: [{ name: 'name', description: 'the token name' }],
  options: [...PROJECT_OPTIONS, JSON_OPTION],
};
