// cdk-nag (AwsSolutions) is wired into the app: the real stack passes in
// every option combination, each acknowledgement carries a reason, and a
// non-compliant resource in the same app fails the synth.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { buildTimmybotApp } from '../lib/app';
import { APP_ID, Fixture, makeFixture, synth } from './helpers';

let fixture: Fixture;
before(() => {
  fixture = makeFixture();
});
after(() => fixture.cleanup());

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: unknown;
}

/** Every acknowledgement recorded in the construct tree (Validations metadata). */
function acknowledgements(root: IConstruct): Acknowledgement[] {
  const out: Acknowledgement[] = [];
  for (const node of root.node.findAll()) {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      const data: unknown = entry.data;
      if (typeof data !== 'object' || data === null) continue;
      for (const [id, reason] of Object.entries(data)) out.push({ path: node.node.path, id, reason });
    }
  }
  return out;
}

const variants: [string, Record<string, string>][] = [
  ['defaults', {}],
  ['private subnets, slot limit, email, youtube', { privateSubnets: 'true', slotLimit: '3', alarmEmail: 'ops@example.com', youtube: 'true' }],
  ['registry image, unlimited slots, reserved concurrency', { gatewayImage: 'public.ecr.aws/timmy/bot:1', slotLimit: 'unlimited', lambdaReservedConcurrency: '2' }],
];

describe('cdk-nag AwsSolutions', () => {
  for (const [name, ctx] of variants) {
    it(`passes: ${name}`, () => {
      // synth() throws on any unacknowledged finding.
      const s = synth(fixture, ctx);
      // Ours are AwsSolutions rules; aws-cdk-lib records a few of its own
      // (CloudFormation-Validate::...), which must have a reason too.
      const acks = acknowledgements(s.app);
      const ours = acks.filter((a) => a.id.includes('AwsSolutions-'));
      assert.ok(ours.length >= 4);
      for (const ack of acks) {
        assert.equal(typeof ack.reason, 'string', `${ack.path}: ${ack.id} has no reason`);
        assert.ok(String(ack.reason).trim().length > 0, `${ack.path}: ${ack.id} has an empty reason`);
      }
      for (const ack of ours) {
        assert.ok(String(ack.reason).length >= 40, `${ack.path}: ${ack.id} reason is too thin: "${String(ack.reason)}"`);
      }
      if (process.env.TIMMYBOT_PRINT_ACKS === '1') {
        // Printed for reviewers: `npm test` shows every acknowledgement.
        for (const ack of acks) console.log(`acknowledged ${ack.id} at ${ack.path}: ${String(ack.reason)}`);
      }
    });
  }

  it('fails the synth on a non-compliant resource in the same app', () => {
    const outdir = path.join(fixture.root, 'nag-negative');
    const app = new App({
      outdir,
      context: { discordApplicationId: APP_ID, lambdaAssetsDir: fixture.lambdaAssetsDir },
    });
    buildTimmybotApp(app, { repoRoot: fixture.dockerContext });
    const throwaway = new Stack(app, 'Throwaway');
    new sqs.Queue(throwaway, 'PlainQueue'); // no DLQ, no TLS enforcement
    assert.throws(() => app.synth(), /Validation failed/);
    // The report names the throwaway queue and nothing of the real stack.
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
    };
    const violations = report.pluginReports.flatMap((r) => r.violations);
    assert.deepEqual(violations.map((v) => v.ruleName).sort(), ['AwsSolutions-SQS3', 'AwsSolutions-SQS4']);
    const paths = violations.flatMap((v) => v.violatingConstructs.map((c) => c.constructPath));
    assert.ok(paths.every((p) => p.startsWith('Throwaway/PlainQueue')), paths.join(', '));
  });
});
