// Builds the timmybot app from CDK context: shared by bin/timmybot.ts and the
// tests, so the tests exercise exactly what `cdk synth` runs (options parsing,
// tags, cdk-nag).

import * as path from 'node:path';
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONTRACT_PATH, loadDeployContract } from './contract';
import { OPTION_HELP, OptionError, parseOptions, unknownOptionKeys } from './options';
import { TimmybotStack } from './timmybot-stack';

/** The repository root: the Docker build context and the default Lambda output's parent. */
export const REPO_ROOT = path.join(__dirname, '..', '..');

export interface BuildOptions {
  /** Docker build context; tests point it at a folder with a stub Dockerfile. */
  readonly repoRoot?: string;
  readonly contractPath?: string;
}

/** Adds the stack, tags and cdk-nag to `app` and returns the stack. */
export function buildTimmybotApp(app: App, build: BuildOptions = {}): TimmybotStack {
  const repoRoot = build.repoRoot ?? REPO_ROOT;
  const typos = unknownOptionKeys(app.node.getAllContext());
  const [firstTypo] = typos;
  if (firstTypo !== undefined) {
    throw new OptionError(firstTypo, `is not an option of this app (known: ${Object.keys(OPTION_HELP).join(', ')})`);
  }
  const options = parseOptions((key) => app.node.tryGetContext(key), repoRoot);
  const { contract, env } = loadDeployContract(build.contractPath ?? CONTRACT_PATH);

  // No env: an environment-agnostic stack synthesizes without credentials or
  // lookups; the CLI fills in the account and region at deploy.
  const stack = new TimmybotStack(app, options.stackName, {
    stackName: options.stackName,
    options,
    contract,
    envNames: env,
    repoRoot,
  });

  Tags.of(app).add('project', 'timmybot');
  // Every AwsSolutions finding fails the synth unless acknowledged with a reason.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
