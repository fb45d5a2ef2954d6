// Context option parsing: defaults, accepted forms, and errors that name the
// option at fault.

import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { buildTimmybotApp } from '../lib/app';
import { fargateMemoryChoices, OptionError, parseOptions, RETENTION_CHOICES, unknownOptionKeys } from '../lib/options';

const REPO = '/repo';
const parse = (ctx: Record<string, unknown>) =>
  parseOptions((key) => ({ discordApplicationId: '42', ...ctx })[key], REPO);

function assertOptionError(ctx: Record<string, unknown>, option: string, detail?: RegExp): void {
  assert.throws(
    () => parse(ctx),
    (e: unknown) => {
      assert.ok(e instanceof OptionError, `expected OptionError, got ${String(e)}`);
      assert.match(e.message, new RegExp(`"${option}"`));
      if (detail) assert.match(e.message, detail);
      return true;
    },
  );
}

describe('parseOptions', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(parse({}), {
      stackName: 'Timmybot',
      discordApplicationId: '42',
      allowlistMode: 'allowlist',
      maintainerIds: [],
      maintainersChannelId: undefined,
      slotLimit: undefined,
      youtube: false,
      spotify: false,
      logRetentionDays: 30,
      alarmEmail: undefined,
      taskCpu: 512,
      taskMemory: 1024,
      gatewayDesiredCount: 0,
      scaleToZero: true,
      idleStopMinutes: 10,
      privateSubnets: false,
      deletionProtection: true,
      lambdaAssetsDir: path.join(REPO, 'dist', 'lambda'),
      gatewayImage: undefined,
      lambdaReservedConcurrency: undefined,
    });
  });

  it('reads every option from strings, as `-c key=value` passes them', () => {
    const o = parse({
      stackName: 'Timmybot-staging',
      allowlistMode: 'open',
      maintainerIds: ' 11, 22 ,',
      maintainersChannelId: '33',
      slotLimit: '50',
      youtube: 'true',
      logRetentionDays: '90',
      alarmEmail: 'ops@example.com',
      taskCpu: '1024',
      taskMemory: '3072',
      gatewayDesiredCount: '1',
      idleStopMinutes: '25',
      privateSubnets: 'true',
      deletionProtection: 'false',
      lambdaAssetsDir: 'some/dir',
      gatewayImage: 'public.ecr.aws/timmy/bot:1.2.3',
      lambdaReservedConcurrency: '5',
    });
    assert.equal(o.stackName, 'Timmybot-staging');
    assert.equal(o.allowlistMode, 'open');
    assert.deepEqual(o.maintainerIds, ['11', '22']);
    assert.equal(o.maintainersChannelId, '33');
    assert.equal(o.slotLimit, 50);
    assert.equal(o.youtube, true);
    assert.equal(o.logRetentionDays, 90);
    assert.equal(o.alarmEmail, 'ops@example.com');
    assert.equal(o.taskCpu, 1024);
    assert.equal(o.taskMemory, 3072);
    assert.equal(o.gatewayDesiredCount, 1);
    assert.equal(o.scaleToZero, true);
    assert.equal(o.idleStopMinutes, 25);
    assert.equal(o.privateSubnets, true);
    assert.equal(o.deletionProtection, false);
    assert.equal(o.lambdaAssetsDir, path.resolve('some/dir'));
    assert.equal(o.gatewayImage, 'public.ecr.aws/timmy/bot:1.2.3');
    assert.equal(o.lambdaReservedConcurrency, 5);
  });

  it('accepts JSON values from cdk.json', () => {
    const o = parse({ youtube: true, slotLimit: 3, gatewayDesiredCount: 0, logRetentionDays: 7 });
    assert.equal(o.youtube, true);
    assert.equal(o.slotLimit, 3);
    assert.equal(o.gatewayDesiredCount, 0);
    assert.equal(o.logRetentionDays, 7);
  });

  it('scales to zero by default; without it the gateway is deployed running and never stops itself', () => {
    const off = parse({ scaleToZero: 'false' });
    assert.equal(off.scaleToZero, false);
    assert.equal(off.gatewayDesiredCount, 1);
    assert.equal(parse({ scaleToZero: 'false', gatewayDesiredCount: '0' }).gatewayDesiredCount, 0);
    assert.throws(() => parse({ scaleToZero: 'false', idleStopMinutes: '5' }), /idleStopMinutes.*only applies with scaleToZero=true/);
    assert.throws(() => parse({ idleStopMinutes: '0' }), /idleStopMinutes.*between 1 and 1440/);
    assert.throws(() => parse({ idleStopMinutes: '1441' }), /idleStopMinutes.*between 1 and 1440/);
    assert.throws(() => parse({ scaleToZero: 'yes' }), /scaleToZero.*must be true or false/);
  });

  it('takes slotLimit=unlimited and slotLimit=0', () => {
    assert.equal(parse({ slotLimit: 'unlimited' }).slotLimit, 'unlimited');
    assert.equal(parse({ slotLimit: '0' }).slotLimit, 0);
  });

  it('picks a valid default memory for a larger CPU', () => {
    assert.equal(parse({ taskCpu: '2048' }).taskMemory, 4096);
  });

  it('requires discordApplicationId', () => {
    assert.throws(() => parseOptions(() => undefined, REPO), /"discordApplicationId" is required/);
  });

  const bad: [string, Record<string, unknown>, RegExp?][] = [
    ['discordApplicationId', { discordApplicationId: 'my-bot' }, /digits/],
    ['allowlistMode', { allowlistMode: 'closed' }, /allowlist or open/],
    ['maintainerIds', { maintainerIds: '11,bob' }, /"bob"/],
    ['maintainersChannelId', { maintainersChannelId: '#general' }],
    ['slotLimit', { slotLimit: '-1' }, /whole number or unlimited/],
    ['slotLimit', { slotLimit: '2.5' }],
    ['youtube', { youtube: 'yes' }, /true or false/],
    ['logRetentionDays', { logRetentionDays: '31' }, /one of 1, 3, 5, 7, 14, 30/],
    ['logRetentionDays', { logRetentionDays: 'month' }, /whole number/],
    ['alarmEmail', { alarmEmail: 'ops' }, /not an email/],
    ['taskCpu', { taskCpu: '300' }, /Fargate CPU size/],
    ['taskMemory', { taskCpu: '256', taskMemory: '4096' }, /512, 1024, 2048 MiB with taskCpu=256/],
    ['gatewayDesiredCount', { gatewayDesiredCount: '2' }, /0 or 1/],
    ['privateSubnets', { privateSubnets: '1' }],
    ['deletionProtection', { deletionProtection: 'off' }],
    ['gatewayImage', { gatewayImage: 'a b' }],
    ['stackName', { stackName: '1bot' }],
    ['lambdaReservedConcurrency', { lambdaReservedConcurrency: '0' }],
    ['slotLimit', { slotLimit: { n: 1 } }, /string, number or boolean/],
  ];
  for (const [option, ctx, detail] of bad) {
    it(`rejects ${option}=${JSON.stringify(Object.values(ctx).at(-1))} naming the option`, () => {
      assertOptionError(ctx, option, detail);
    });
  }
});

describe('option helpers', () => {
  it('lists CloudWatch retention values without "never expire"', () => {
    assert.ok(RETENTION_CHOICES.includes(1) && RETENTION_CHOICES.includes(3653));
    assert.ok(!RETENTION_CHOICES.includes(9999));
  });

  it('knows the Fargate task sizes', () => {
    assert.deepEqual(fargateMemoryChoices(512), [1024, 2048, 3072, 4096]);
    assert.deepEqual(fargateMemoryChoices(100), []);
  });

  it('flags context keys that look like misspelt options', () => {
    assert.deepEqual(unknownOptionKeys({ slotlimit: '1', slotLimit: '1', '@aws-cdk/core:flag': true, 'aws:cdk:x': 1 }), ['slotlimit']);
  });

  it('refuses a misspelt option when building the app', () => {
    const app = new App({ context: { discordApplicationId: '42', slotlimit: '5' } });
    assert.throws(() => buildTimmybotApp(app), /"slotlimit" is not an option of this app/);
  });
});
