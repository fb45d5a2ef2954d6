// Writes the allowlist slot limit into the slot counter item at deploy time,
// so `-c slotLimit=50` is the same as `timmybot allowlist slots --set 50`.
// It runs on create and whenever the limit changes; a limit set later from
// the CLI stays until the next deploy that changes this option. Removing the
// option leaves the stored limit as it is (use slotLimit=unlimited to clear it).

import * as iam from 'aws-cdk-lib/aws-iam';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { DeployContract } from './contract';
import type { SlotLimit } from './options';

export interface SlotLimitProps {
  readonly table: dynamodb.ITable;
  readonly contract: DeployContract;
  readonly limit: SlotLimit;
  readonly logRetention: logs.RetentionDays;
}

export class SlotLimitSetting extends Construct {
  readonly resource: cr.AwsCustomResource;

  constructor(scope: Construct, id: string, props: SlotLimitProps) {
    super(scope, id);
    const counter = props.contract.slotCounter;

    // Table keys are strings (S) on the Rust side; the limit is a number (N).
    const key: Record<string, { S: string }> = {};
    for (const [name, value] of Object.entries(counter.key)) key[name] = { S: value };
    const parameters = updateParameters(counter, props.limit);

    const call: cr.AwsSdkCall = {
      service: 'DynamoDB',
      action: 'UpdateItem',
      parameters: {
        TableName: props.table.tableName,
        Key: key,
        ...parameters,
      },
      // One counter item per deployment: a stable id, so a change of the
      // limit is an update (the item is never "replaced").
      physicalResourceId: cr.PhysicalResourceId.of('allowlist-slot-limit'),
    };

    this.resource = new cr.AwsCustomResource(this, 'Resource', {
      resourceType: 'Custom::TimmybotSlotLimit',
      onCreate: call,
      onUpdate: call,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [props.table.tableArn] }),
      ]),
      installLatestAwsSdk: false,
      logGroup: new logs.LogGroup(this, 'Logs', { retention: props.logRetention }),
    });

    // The provider Lambda is a CDK singleton at the stack root, outside this
    // construct: acknowledge on its role, for that one managed policy only.
    const providerRole = this.resource.grantPrincipal;
    if (!Construct.isConstruct(providerRole)) throw new Error('AwsCustomResource provider role is not a construct');
    Validations.of(providerRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'Role of the CDK-provided AwsCustomResource Lambda (exists only with slotLimit, runs only during deploys): ' +
        'CDK attaches AWSLambdaBasicExecutionRole (CloudWatch Logs writes only); its one grant of ours is dynamodb:UpdateItem on the guilds table.',
    });
  }
}

interface UpdateParameters {
  readonly UpdateExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, { N: string }>;
}

/**
 * The UpdateItem expression the Rust store itself uses (contract
 * slotCounter.setExpression / removeExpression, which also stamp the schema
 * version), or a plain SET/REMOVE of the limit when the contract has none.
 * Only placeholders the expression uses are passed: DynamoDB rejects unused
 * ExpressionAttributeNames/Values.
 */
export function updateParameters(counter: DeployContract['slotCounter'], limit: SlotLimit): UpdateParameters {
  const useContract =
    counter.schemaVersionAttribute !== undefined &&
    counter.schemaVersion !== undefined &&
    counter.setExpression !== undefined &&
    counter.removeExpression !== undefined;
  const expression =
    limit === 'unlimited'
      ? (useContract ? counter.removeExpression : undefined) ?? 'REMOVE #limit'
      : (useContract ? counter.setExpression : undefined) ?? 'SET #limit = :limit';

  const names: Record<string, string> = { '#limit': counter.limitAttribute };
  const values: Record<string, { N: string }> = {};
  if (counter.schemaVersionAttribute !== undefined) names['#sv'] = counter.schemaVersionAttribute;
  if (counter.schemaVersion !== undefined) values[':sv'] = { N: String(counter.schemaVersion) };
  if (limit !== 'unlimited') values[':limit'] = { N: String(limit) };

  const used = <T>(all: Record<string, T>): Record<string, T> =>
    Object.fromEntries(Object.entries(all).filter(([placeholder]) => new RegExp(`${placeholder}\\b`).test(expression)));
  const usedNames = used(names);
  const usedValues = used(values);
  for (const placeholder of expression.match(/[#:][A-Za-z0-9_]+/g) ?? []) {
    if (!(placeholder in usedNames) && !(placeholder in usedValues)) {
      throw new Error(`slotCounter expression "${expression}" uses ${placeholder}, which the contract gives no value for`);
    }
  }
  return {
    UpdateExpression: expression,
    ExpressionAttributeNames: usedNames,
    ...(Object.keys(usedValues).length > 0 ? { ExpressionAttributeValues: usedValues } : {}),
  };
}
