// The command bus: an SQS FIFO queue (one message group per guild keeps a
// guild's commands in order) with a FIFO dead-letter queue. Attributes the
// Rust bus depends on come from the deploy contract.

import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { DeployContract } from './contract';

export class CommandQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, contract: DeployContract) {
    super(scope, id);
    const spec = contract.commandQueue;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: true,
      // The longest SQS allows: time to look at a poison command.
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: true,
      contentBasedDeduplication: spec.contentBasedDeduplication,
      visibilityTimeout: Duration.seconds(spec.visibilityTimeoutSeconds),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: spec.maxReceiveCount },
    });
  }
}
