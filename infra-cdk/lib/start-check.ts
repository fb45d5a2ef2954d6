// Scale to zero's start check: a standard SQS queue (FIFO queues refuse
// per-message delays) on which each gateway start sets one message delayed
// to its deadline, and the Lambda that queue invokes. The Lambda tells the
// members still waiting on a late start (it edits their replies), logs the
// GatewayStartOverdue line and asks for the start again.

import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RustFunction } from './rust-function';

/** The function's limit: a check edits each waiting reply (3 s at most each) and asks ECS once. */
const FUNCTION_TIMEOUT = Duration.seconds(60);

export interface StartCheckProps {
  readonly assetsDir: string;
  readonly binaryName: string;
  readonly logRetention: logs.RetentionDays;
  readonly reservedConcurrentExecutions?: number;
  /** The Lambda's variables (built with `componentEnvironment`). */
  readonly environment: (queue: sqs.IQueue) => Readonly<Record<string, string>>;
}

export class StartCheck extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly fn: RustFunction;

  constructor(scope: Construct, id: string, props: StartCheckProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      // AWS's advice for a Lambda event source: six times the function's timeout.
      visibilityTimeout: Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * 6),
      // A check older than a day has nobody left to tell.
      retentionPeriod: Duration.days(1),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 3 },
    });
    this.fn = new RustFunction(this, 'Function', {
      assetsDir: props.assetsDir,
      binaryName: props.binaryName,
      description: 'timmybot: tells members waiting on a late gateway start and asks for it again',
      memorySize: 128,
      timeout: FUNCTION_TIMEOUT,
      logRetention: props.logRetention,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: props.environment(this.queue),
    });
    this.fn.function.addEventSource(new sources.SqsEventSource(this.queue, { batchSize: 1 }));
    // The check sets the next check when it asks for the start again.
    this.queue.grantSendMessages(this.fn.role);
  }

  /** The function, for alarms on its errors. */
  get function(): lambda.Function {
    return this.fn.function;
  }
}
