// Shared test fixtures: a temp folder with placeholder Lambda bootstraps and a
// stub Dockerfile, and a synth helper that builds the app exactly as
// bin/timmybot.ts does (options from context, tags, cdk-nag).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildTimmybotApp } from '../lib/app';
import { loadDeployContract } from '../lib/contract';
import type { TimmybotStack } from '../lib/timmybot-stack';

/** The contract and its environment variable names, as the stack reads them. */
export const { contract, env: envNames } = loadDeployContract();

/** A test Discord application id (any digits do). */
export const APP_ID = '123456789012345678';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: JsonObject;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export interface Fixture {
  readonly root: string;
  /** Placeholder `<binary>/bootstrap` for every Lambda in the contract. */
  readonly lambdaAssetsDir: string;
  /** A folder with a stub Dockerfile: the build context in tests. */
  readonly dockerContext: string;
  cleanup(): void;
}

/** Creates the temp folders; call cleanup() in an `after` hook. */
export function makeFixture(): Fixture {
  const root = mkdtempSync(path.join(os.tmpdir(), 'timmybot-cdk-test-'));
  const lambdaAssetsDir = path.join(root, 'lambda');
  for (const binary of Object.values(contract.artifacts.lambdas)) {
    mkdirSync(path.join(lambdaAssetsDir, binary), { recursive: true });
    writeFileSync(path.join(lambdaAssetsDir, binary, 'bootstrap'), `placeholder for ${binary}\n`);
  }
  const dockerContext = path.join(root, 'docker');
  mkdirSync(dockerContext);
  writeFileSync(path.join(dockerContext, 'Dockerfile'), 'FROM scratch\n');
  return {
    root,
    lambdaAssetsDir,
    dockerContext,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export interface Synthesized {
  readonly app: App;
  readonly stack: TimmybotStack;
  readonly template: Template;
  readonly resources: Readonly<Record<string, CfnResource>>;
}

/** Builds and synthesizes the app with the given context (strings, like `-c`). */
export function synth(fixture: Fixture, context: Readonly<Record<string, string>> = {}): Synthesized {
  const outdir = mkdtempSync(path.join(fixture.root, 'cdk.out-'));
  const app = new App({
    outdir,
    context: { discordApplicationId: APP_ID, lambdaAssetsDir: fixture.lambdaAssetsDir, ...context },
  });
  const stack = buildTimmybotApp(app, { repoRoot: fixture.dockerContext });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, CfnResource>;
  return { app, stack, template, resources };
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(stack: Stack, element: unknown): string {
  if (!(element instanceof CfnElement)) throw new Error('not a CloudFormation element');
  return stack.getLogicalId(element);
}

export function ofType(resources: Readonly<Record<string, CfnResource>>, type: string): [string, CfnResource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asArray(value: Json | undefined): Json[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Parses a JSON string CloudFormation builds with Fn::Join (e.g. a custom
 * resource's Create), with each token replaced by "<token>".
 */
export function joinedJson(value: Json | undefined): JsonObject {
  if (!isObject(value)) throw new Error('not an object');
  const join = value['Fn::Join'];
  if (!Array.isArray(join) || !Array.isArray(join[1])) throw new Error('not an Fn::Join');
  const text = join[1].map((part) => (typeof part === 'string' ? part : '<token>')).join(String(join[0]));
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
  return parsed as JsonObject;
}

/** The Docker image sources of the stack's asset manifest (written by synth). */
export function dockerImageSources(s: Synthesized): JsonObject[] {
  const file = path.join(s.app.outdir, `${s.stack.artifactId}.assets.json`);
  const manifest: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const images = (manifest as { dockerImages?: Record<string, { source: JsonObject }> }).dockerImages ?? {};
  return Object.values(images).map((image) => image.source);
}
