// One Rust Lambda built by `cargo lambda build --release --arm64`: the
// conventions every timmybot function shares (runtime, architecture, its own
// log group, an explicit role) live here, so a new function is a few lines.

import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface RustFunctionProps {
  /** Folder holding one <binary>/bootstrap per Lambda (scripts/package.sh output). */
  readonly assetsDir: string;
  /** The binary (= folder) name, from the deploy contract's artifacts. */
  readonly binaryName: string;
  readonly description?: string;
  /** @default 128 */
  readonly memorySize?: number;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  readonly environment?: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  /** @default - unreserved (the account's shared pool) */
  readonly reservedConcurrentExecutions?: number;
}

/** Thrown at synth when a Lambda has not been built yet. */
export class MissingLambdaAssetError extends Error {
  constructor(binaryName: string, dir: string) {
    super(
      `Lambda "${binaryName}" is not built: no ${path.join(dir, 'bootstrap')}. ` +
        'Build the Lambdas first with scripts/package.sh --no-image (writes dist/lambda/<binary>/bootstrap), ' +
        'or point -c lambdaAssetsDir=<folder> at a folder with one <binary>/bootstrap per Lambda.',
    );
    this.name = 'MissingLambdaAssetError';
  }
}

export class RustFunction extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: RustFunctionProps) {
    super(scope, id);

    // Fail at synth with the packaging command, not at deploy with an empty zip.
    const dir = path.join(props.assetsDir, props.binaryName);
    const bootstrap = path.join(dir, 'bootstrap');
    if (!existsSync(bootstrap) || !statSync(bootstrap).isFile()) {
      throw new MissingLambdaAssetError(props.binaryName, dir);
    }

    // Created here (not by Lambda on first write) so the retention applies
    // and the group goes away with the stack.
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention });

    // An explicit role instead of the default one: the default attaches the
    // AWSLambdaBasicExecutionRole managed policy (logs:* on every group);
    // this one may only write to its own log group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `timmybot ${props.binaryName} Lambda`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new lambda.Function(this, 'Function', {
      description: props.description,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(dir),
      memorySize: props.memorySize ?? 128,
      timeout: props.timeout ?? Duration.seconds(10),
      environment: props.environment === undefined ? undefined : { ...props.environment },
      role: this.role,
      logGroup: this.logGroup,
      // JSON lines: tracing's JSON output and the EMF records land as
      // structured events; Lambda's own START/END/REPORT lines too.
      loggingFormat: lambda.LoggingFormat.JSON,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
    });
  }

  /** A Function URL. AWS_IAM: callers sign with SigV4; NONE: the code authenticates. */
  addFunctionUrl(authType: lambda.FunctionUrlAuthType): lambda.FunctionUrl {
    return this.function.addFunctionUrl({ authType });
  }
}
