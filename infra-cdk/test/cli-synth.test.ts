// `cdk synth` through the pinned CLI, the way a deployer runs it: offline, no
// AWS credentials or region, no Docker. Proves cdk.json, the tsx entry point
// and the CLI/library versions agree (the CLI refuses a newer cloud-assembly
// schema than it knows).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../lib/app';
import { APP_ID, Fixture, makeFixture } from './helpers';

const INFRA = path.join(__dirname, '..');
const CDK = path.join(INFRA, 'node_modules', '.bin', 'cdk');

let fixture: Fixture;
before(() => {
  fixture = makeFixture();
});
after(() => fixture.cleanup());

/** The parent's environment without anything AWS or CDK, as on a fresh machine. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('AWS_') || k.startsWith('CDK_') || k === 'NODE_TEST_CONTEXT') continue;
    env[k] = v;
  }
  env.CDK_DISABLE_CLI_TELEMETRY = 'true';
  // The SDK would otherwise probe the EC2 metadata endpoint for credentials.
  env.AWS_EC2_METADATA_DISABLED = 'true';
  return env;
}

function cdkSynth(outdir: string, context: Record<string, string>): { status: number | null; output: string; seconds: number } {
  const args = ['synth', '--no-notices', '--no-version-reporting', '--quiet', '-o', outdir];
  for (const [k, v] of Object.entries(context)) args.push('-c', `${k}=${v}`);
  const started = process.hrtime.bigint();
  const r = spawnSync(CDK, args, { cwd: INFRA, env: offlineEnv(), encoding: 'utf8', timeout: 110_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { status: r.status, output: `${r.stdout}\n${r.stderr}\n${r.error?.message ?? ''}`, seconds };
}

function assertTemplate(outdir: string): void {
  const file = path.join(outdir, 'Timmybot.template.json');
  assert.ok(existsSync(file), `no template in ${outdir}: ${readdirSync(outdir).join(', ')}`);
  const template = JSON.parse(readFileSync(file, 'utf8')) as { Resources?: Record<string, { Type: string }> };
  const types = Object.values(template.Resources ?? {}).map((r) => r.Type);
  for (const type of ['AWS::ECS::Service', 'AWS::Lambda::Function', 'AWS::DynamoDB::Table', 'AWS::SQS::Queue']) {
    assert.ok(types.includes(type), `template lacks ${type}`);
  }
}

describe('cdk synth (pinned CLI, offline, no credentials)', () => {
  it('synthesizes with an existing gateway image', (t) => {
    const outdir = path.join(fixture.root, 'cli-out');
    const r = cdkSynth(outdir, {
      lambdaAssetsDir: fixture.lambdaAssetsDir,
      discordApplicationId: APP_ID,
      gatewayImage: 'public.ecr.aws/timmybot/gateway:test',
    });
    t.diagnostic(`cdk synth took ${r.seconds.toFixed(1)} s`);
    assert.equal(r.status, 0, r.output);
    assertTemplate(outdir);
  });

  it('synthesizes building the repository Dockerfile (staging only, no Docker needed)', (t) => {
    if (!existsSync(path.join(REPO_ROOT, 'Dockerfile'))) {
      t.skip('no Dockerfile at the repository root yet');
      return;
    }
    const outdir = path.join(fixture.root, 'cli-out-build');
    const r = cdkSynth(outdir, { lambdaAssetsDir: fixture.lambdaAssetsDir, discordApplicationId: APP_ID });
    t.diagnostic(`cdk synth (with image staging) took ${r.seconds.toFixed(1)} s`);
    assert.equal(r.status, 0, r.output);
    assertTemplate(outdir);
    // The staged build context must not contain the heavy folders.
    const staged = readdirSync(outdir).filter((f) => f.startsWith('asset.'));
    for (const dir of staged) {
      const entries = readdirSync(path.join(outdir, dir));
      if (!entries.includes('Dockerfile')) continue;
      for (const heavy of ['target', '.git', '.tools', 'infra-cdk', 'node_modules', 'data']) {
        assert.ok(!entries.includes(heavy), `${heavy} was copied into the image build context`);
      }
    }
  });
});
