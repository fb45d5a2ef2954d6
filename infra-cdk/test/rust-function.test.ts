// RustFunction: the conventions of every timmybot Lambda, and the clear error
// when the binaries have not been built.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { MissingLambdaAssetError, RustFunction } from '../lib/rust-function';
import { contract, Fixture, logicalId, makeFixture, synth } from './helpers';

let fixture: Fixture;
before(() => {
  fixture = makeFixture();
});
after(() => fixture.cleanup());

describe('RustFunction', () => {
  it('adds a new function in a few lines (the README example)', () => {
    const assetsDir = path.join(fixture.root, 'more-lambdas');
    mkdirSync(path.join(assetsDir, 'oauth-callback-lambda'), { recursive: true });
    writeFileSync(path.join(assetsDir, 'oauth-callback-lambda', 'bootstrap'), 'placeholder\n');

    const stack = new Stack(new App({ outdir: path.join(fixture.root, 'rf-out') }), 'S');
    const fn = new RustFunction(stack, 'OAuthCallback', {
      assetsDir,
      binaryName: 'oauth-callback-lambda',
      timeout: Duration.seconds(5),
      environment: { EXAMPLE: '1' },
      logRetention: RetentionDays.ONE_WEEK,
    });
    fn.addFunctionUrl(lambda.FunctionUrlAuthType.NONE);

    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'provided.al2023',
      Architectures: ['arm64'],
      Handler: 'bootstrap',
      Timeout: 5,
      MemorySize: 128,
      Environment: { Variables: { EXAMPLE: '1' } },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: logicalId(stack, fn.logGroup.node.defaultChild) } },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    t.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    // Its own role, no managed policy: logs only to its own group.
    t.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });

  it('fails the synth naming scripts/package.sh when a binary is missing', () => {
    const empty = path.join(fixture.root, 'empty-lambdas');
    mkdirSync(empty);
    assert.throws(
      () => synth(fixture, { lambdaAssetsDir: empty }),
      (e: unknown) => {
        assert.ok(e instanceof MissingLambdaAssetError);
        assert.match(e.message, /scripts\/package\.sh/);
        assert.match(e.message, new RegExp(Object.values(contract.artifacts.lambdas).join('|')));
        assert.match(e.message, /lambdaAssetsDir/);
        return true;
      },
    );
  });

  it('wants a bootstrap file, not just the folder', () => {
    const dir = path.join(fixture.root, 'no-bootstrap');
    for (const binary of Object.values(contract.artifacts.lambdas)) mkdirSync(path.join(dir, binary), { recursive: true });
    assert.throws(() => synth(fixture, { lambdaAssetsDir: dir }), MissingLambdaAssetError);
  });
});
