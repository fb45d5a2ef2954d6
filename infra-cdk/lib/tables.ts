// The two DynamoDB tables, shaped by the deploy contract, and a least-privilege
// grant that names the table's indexes one by one (CDK's own grants use
// `<table>/index/*`).

import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { AttributeType, DeployContract, IndexProjection, TableContract } from './contract';

/**
 * The DynamoDB calls the Rust adapters make (adapters/aws/src): GetItem,
 * Query, PutItem, UpdateItem, DeleteItem and TransactWriteItems. A
 * transaction is authorised per item (Put/Update/Delete/ConditionCheckItem),
 * so TransactWriteItems needs no action of its own.
 */
export const TABLE_DATA_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
] as const;

function attributeType(type: AttributeType): dynamodb.AttributeType {
  switch (type) {
    case 'S':
      return dynamodb.AttributeType.STRING;
    case 'N':
      return dynamodb.AttributeType.NUMBER;
    case 'B':
      return dynamodb.AttributeType.BINARY;
  }
}

/**
 * The reads a component that only looks at items makes: GetItem and Query on
 * the table itself (the interactions Lambda reading a guild's player).
 */
export const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query'] as const;

function projectionType(projection: IndexProjection): dynamodb.ProjectionType {
  switch (projection) {
    case 'ALL':
      return dynamodb.ProjectionType.ALL;
    case 'KEYS_ONLY':
      return dynamodb.ProjectionType.KEYS_ONLY;
  }
}

/** One table plus the index names it was built with. */
export class ContractTable extends Construct {
  readonly table: dynamodb.Table;
  readonly indexNames: readonly string[];

  constructor(scope: Construct, id: string, spec: TableContract, deletionProtection: boolean) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: spec.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: spec.sortKey === undefined ? undefined : { name: spec.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: spec.ttlAttribute,
      // DEFAULT = AWS-owned keys: no KMS charges and no kms:* statements in the grants.
      encryption: dynamodb.TableEncryption.DEFAULT,
      // The guilds' queues and access decisions outlive the stack.
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection,
    });
    for (const index of spec.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey.name, type: attributeType(index.partitionKey.type) },
        sortKey: index.sortKey === undefined ? undefined : { name: index.sortKey.name, type: attributeType(index.sortKey.type) },
        projectionType: projectionType(index.projection),
      });
    }
    this.indexNames = spec.indexes.map((i) => i.name);
  }

  /** Item reads and writes on the table and each of its indexes, by name. */
  grantData(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...TABLE_DATA_ACTIONS],
      resourceArns: [this.table.tableArn, ...this.indexNames.map((name) => `${this.table.tableArn}/index/${name}`)],
    });
  }

  /** GetItem and Query on the table, not its indexes; no write. */
  grantItemReads(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: [...TABLE_READ_ACTIONS], resourceArns: [this.table.tableArn] });
  }
}

/** Both tables of the deploy contract. */
export class Tables extends Construct {
  readonly guilds: ContractTable;
  readonly guildQueues: ContractTable;

  constructor(scope: Construct, id: string, contract: DeployContract, deletionProtection: boolean) {
    super(scope, id);
    this.guilds = new ContractTable(this, 'Guilds', contract.tables.guilds, deletionProtection);
    this.guildQueues = new ContractTable(this, 'GuildQueues', contract.tables.guildQueues, deletionProtection);
  }
}
