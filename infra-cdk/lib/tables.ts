// The DynamoDB tables, shaped by the deploy contract, and least-privilege
// grants that name the table's indexes one by one (CDK's own grants use
// `<table>/index/*`). Two hold guild data and outlive the stack; the track
// cache holds nothing that cannot be fetched again.

import { RemovalPolicy, Validations } from 'aws-cdk-lib';
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

/**
 * The calls the track cache adapter makes (adapters/aws/src/track_cache_dynamodb.rs):
 * one item at a time, by key, never a query or a condition.
 */
export const CACHE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'] as const;

/**
 * The guild-queues partition that holds the deployment's own items (the
 * alive mark, the gateway's heartbeat and starting marker, saved gateway
 * sessions): not a snowflake, so no guild's items share it.
 */
export const DEPLOYMENT_PARTITION = 'deployment';

/**
 * How a table is kept. Guild data (queues, settings, access decisions) has
 * point-in-time recovery and outlives the stack. A cache has neither: every
 * item is what a link or a search resolved to, expires within hours anyway,
 * and a lost one costs one lookup, so restoring the table would never be
 * worth its price and deleting it with the stack loses nothing.
 */
export type TableKeeping = { readonly kind: 'data'; readonly deletionProtection: boolean } | { readonly kind: 'cache' };

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

  constructor(scope: Construct, id: string, spec: TableContract, keeping: TableKeeping) {
    super(scope, id);
    const data = keeping.kind === 'data';
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: spec.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: spec.sortKey === undefined ? undefined : { name: spec.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      // Off for a cache: see TableKeeping.
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: data },
      timeToLiveAttribute: spec.ttlAttribute,
      // DEFAULT = AWS-owned keys: no KMS charges and no kms:* statements in the grants.
      encryption: dynamodb.TableEncryption.DEFAULT,
      // The guilds' queues and access decisions outlive the stack; a cache goes with it.
      removalPolicy: data ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      deletionProtection: data ? keeping.deletionProtection : false,
    });
    if (!data) {
      Validations.of(this.table).acknowledge({
        id: 'AwsSolutions-DDB3',
        reason:
          'No point-in-time recovery on the track cache: every item is a link or search result that expires within ' +
          'hours and is fetched again on a miss, so a restore would never be worth its cost.',
      });
    }
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

  /**
   * PutItem and DeleteItem on the deployment's own items only (partition key
   * `deployment`, never a guild's): the interactions Lambda claims and
   * releases the gateway's "starting" marker there (scale to zero; the Rust
   * side's `DEPLOYMENT` in adapters/aws/src/presence_dynamodb.rs).
   */
  grantDeploymentItemWrites(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [DEPLOYMENT_PARTITION] } },
    });
  }

  /**
   * GetItem, Query, PutItem and DeleteItem on the deployment's own items
   * only: the start check reads the gateway's heartbeat and starting marker,
   * takes the members waiting on a start and claims the start again.
   */
  grantDeploymentItems(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [DEPLOYMENT_PARTITION] } },
    });
  }

  /** GetItem, PutItem and DeleteItem on the table itself: what the track cache needs. */
  grantCacheReadWrite(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: [...CACHE_ACTIONS], resourceArns: [this.table.tableArn] });
  }
}

/** Every table of the deploy contract. */
export class Tables extends Construct {
  readonly guilds: ContractTable;
  readonly guildQueues: ContractTable;
  /** Global (not per guild): cached metadata is no guild's data. */
  readonly trackCache: ContractTable;
  /**
   * Members' own data, partitioned by Discord user: playlists (read and
   * written by the interactions Lambda, read by the gateway) and linked
   * accounts (their tokens sealed; the linked-accounts Lambdas come with
   * issue #14).
   */
  readonly users: ContractTable;

  constructor(scope: Construct, id: string, contract: DeployContract, deletionProtection: boolean) {
    super(scope, id);
    const data: TableKeeping = { kind: 'data', deletionProtection };
    this.guilds = new ContractTable(this, 'Guilds', contract.tables.guilds, data);
    this.guildQueues = new ContractTable(this, 'GuildQueues', contract.tables.guildQueues, data);
    this.trackCache = new ContractTable(this, 'TrackCache', contract.tables.trackCache, { kind: 'cache' });
    this.users = new ContractTable(this, 'Users', contract.tables.users, data);
  }
}
