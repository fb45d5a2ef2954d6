// The deploy contract: names the Rust code reads or writes, kept in
// ../deploy-contract.json and checked against the Rust code by Rust tests
// (timmybot/tests/deploy_contract.rs, adapters/aws/tests/deploy_contract.rs).
// The stack takes every environment variable name, key attribute, metric name
// and artifact name from here, so a rename in Rust shows up as a synth error
// or a failing test, not as a task that crashes in production.
//
// The file is read at synth time (not bundled into the TypeScript build), so a
// changed contract flows through without touching this code. Unknown fields
// are ignored: the Rust side may add fields before the stack uses them.

import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export const CONTRACT_PATH = path.join(__dirname, '..', 'deploy-contract.json');

/** The components whose environment the contract lists. */
export const COMPONENTS = ['gateway', 'interactions', 'allowlistAdmin', 'startCheck'] as const;
export type ComponentName = (typeof COMPONENTS)[number];

/** Environment variables one component reads. */
export interface ComponentEnv {
  /** Must be set. */
  readonly required: readonly string[];
  /** Groups where at least one member must be set. */
  readonly oneOf: readonly (readonly string[])[];
  /** May be set. */
  readonly optional: readonly string[];
}

export type AttributeType = 'S' | 'N' | 'B';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

/** Which attributes an index copies: all of them, or only the keys. */
export type IndexProjection = 'ALL' | 'KEYS_ONLY';

export interface IndexContract {
  readonly name: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** Absent in the file means ALL. */
  readonly projection: IndexProjection;
}

/** A table's key schema. Table keys are always strings (S) on the Rust side. */
export interface TableContract {
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly ttlAttribute?: string;
  readonly indexes: readonly IndexContract[];
}

export interface DeployContract {
  readonly components: Readonly<Record<ComponentName, ComponentEnv>>;
  readonly tables: {
    readonly guilds: TableContract;
    readonly guildQueues: TableContract;
    /** What links and searches resolved to: global, not keyed by guild. */
    readonly trackCache: TableContract;
    /** Members' own data (linked accounts), keyed by Discord user. */
    readonly users: TableContract;
  };
  readonly slotCounter: {
    readonly table: 'guilds' | 'guildQueues';
    /** Attribute name → string value of the counter item's primary key. */
    readonly key: Readonly<Record<string, string>>;
    readonly limitAttribute: string;
    /**
     * How the Rust store writes the limit (optional in the contract): the
     * update expressions use #sv/#limit for these attribute names and
     * :sv/:limit for the schema version and the limit.
     */
    readonly schemaVersionAttribute?: string;
    readonly schemaVersion?: number;
    readonly setExpression?: string;
    readonly removeExpression?: string;
  };
  readonly commandQueue: {
    readonly maxReceiveCount: number;
    readonly visibilityTimeoutSeconds: number;
    readonly contentBasedDeduplication: boolean;
  };
  readonly metrics: {
    readonly namespace: string;
    readonly serviceDimension: string;
    readonly interactions: {
      readonly service: string;
      readonly latency: string;
      readonly errors: string;
      readonly count: string;
    };
    readonly gateway: {
      readonly service: string;
      readonly players: string;
      readonly framesSent: string;
      readonly framesNulled: string;
      readonly frameDeficit: string;
      readonly commands: string;
      readonly commandErrors: string;
    };
  };
  readonly artifacts: {
    readonly lambdas: {
      readonly interactions: string;
      readonly allowlistAdmin: string;
      readonly startCheck: string;
    };
    /** argv of the gateway service, binary name first. */
    readonly gatewayCommand: readonly string[];
    /** argv of the container health check, binary name first. */
    readonly gatewayHealthCommand: readonly string[];
  };
}

/** A contract file that does not have the expected shape. */
export class ContractError extends Error {
  constructor(field: string, problem: string) {
    super(`deploy-contract.json: ${field} ${problem} (regenerate it from the Rust code, see its "comment" field)`);
    this.name = 'ContractError';
  }
}

// --- small validators over `unknown`, so no field is trusted untyped --------

type JsonObject = { readonly [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function obj(value: unknown, field: string): JsonObject {
  if (!isObject(value)) throw new ContractError(field, 'is not an object');
  return value;
}

function str(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ContractError(field, 'is not a non-empty string');
  return value;
}

function optStr(value: unknown, field: string): string | undefined {
  return value === undefined ? undefined : str(value, field);
}

function num(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ContractError(field, 'is not a non-negative integer');
  }
  return value;
}

function bool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ContractError(field, 'is not a boolean');
  return value;
}

function strList(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw new ContractError(field, 'is not a list');
  return value.map((v: unknown, i) => str(v, `${field}[${i}]`));
}

function nonEmptyStrList(value: unknown, field: string): string[] {
  const list = strList(value, field);
  if (list.length === 0) throw new ContractError(field, 'is empty');
  return list;
}

function attributeType(value: unknown, field: string): AttributeType {
  if (value === 'S' || value === 'N' || value === 'B') return value;
  throw new ContractError(field, 'is not one of S, N, B');
}

function indexProjection(value: unknown, field: string): IndexProjection {
  if (value === undefined || value === 'ALL') return 'ALL';
  if (value === 'KEYS_ONLY') return value;
  throw new ContractError(field, 'is not one of ALL, KEYS_ONLY');
}

function keyAttribute(value: unknown, field: string): KeyAttribute {
  const o = obj(value, field);
  return { name: str(o.name, `${field}.name`), type: attributeType(o.type, `${field}.type`) };
}

function componentEnv(value: unknown, field: string): ComponentEnv {
  const o = obj(value, field);
  const oneOf = o.oneOf ?? [];
  if (!Array.isArray(oneOf)) throw new ContractError(`${field}.oneOf`, 'is not a list');
  return {
    required: strList(o.required ?? [], `${field}.required`),
    oneOf: oneOf.map((group: unknown, i) => nonEmptyStrList(group, `${field}.oneOf[${i}]`)),
    optional: strList(o.optional ?? [], `${field}.optional`),
  };
}

function tableContract(value: unknown, field: string): TableContract {
  const o = obj(value, field);
  const indexes = o.indexes ?? [];
  if (!Array.isArray(indexes)) throw new ContractError(`${field}.indexes`, 'is not a list');
  return {
    partitionKey: str(o.partitionKey, `${field}.partitionKey`),
    sortKey: optStr(o.sortKey, `${field}.sortKey`),
    ttlAttribute: optStr(o.ttlAttribute, `${field}.ttlAttribute`),
    indexes: indexes.map((index: unknown, i) => {
      const f = `${field}.indexes[${i}]`;
      const io = obj(index, f);
      return {
        name: str(io.name, `${f}.name`),
        partitionKey: keyAttribute(io.partitionKey, `${f}.partitionKey`),
        sortKey: io.sortKey === undefined ? undefined : keyAttribute(io.sortKey, `${f}.sortKey`),
        projection: indexProjection(io.projection, `${f}.projection`),
      };
    }),
  };
}

/** Checks and types a parsed contract. Throws a ContractError naming the bad field. */
export function parseContract(raw: unknown): DeployContract {
  const root = obj(raw, '(root)');
  const components = obj(root.components, 'components');
  const tables = obj(root.tables, 'tables');
  const slot = obj(root.slotCounter, 'slotCounter');
  const queue = obj(root.commandQueue, 'commandQueue');
  const metrics = obj(root.metrics, 'metrics');
  const mi = obj(metrics.interactions, 'metrics.interactions');
  const mg = obj(metrics.gateway, 'metrics.gateway');
  const artifacts = obj(root.artifacts, 'artifacts');
  const lambdas = obj(artifacts.lambdas, 'artifacts.lambdas');

  const slotTable = str(slot.table, 'slotCounter.table');
  if (slotTable !== 'guilds' && slotTable !== 'guildQueues') {
    throw new ContractError('slotCounter.table', `names an unknown table "${slotTable}"`);
  }
  const slotKey = obj(slot.key, 'slotCounter.key');
  const key: Record<string, string> = {};
  for (const [name, value] of Object.entries(slotKey)) key[name] = str(value, `slotCounter.key.${name}`);

  const contract: DeployContract = {
    components: {
      gateway: componentEnv(components.gateway, 'components.gateway'),
      interactions: componentEnv(components.interactions, 'components.interactions'),
      allowlistAdmin: componentEnv(components.allowlistAdmin, 'components.allowlistAdmin'),
      startCheck: componentEnv(components.startCheck, 'components.startCheck'),
    },
    tables: {
      guilds: tableContract(tables.guilds, 'tables.guilds'),
      guildQueues: tableContract(tables.guildQueues, 'tables.guildQueues'),
      trackCache: tableContract(tables.trackCache, 'tables.trackCache'),
      users: tableContract(tables.users, 'tables.users'),
    },
    slotCounter: {
      table: slotTable,
      key,
      limitAttribute: str(slot.limitAttribute, 'slotCounter.limitAttribute'),
      schemaVersionAttribute: optStr(slot.schemaVersionAttribute, 'slotCounter.schemaVersionAttribute'),
      schemaVersion: slot.schemaVersion === undefined ? undefined : num(slot.schemaVersion, 'slotCounter.schemaVersion'),
      setExpression: optStr(slot.setExpression, 'slotCounter.setExpression'),
      removeExpression: optStr(slot.removeExpression, 'slotCounter.removeExpression'),
    },
    commandQueue: {
      maxReceiveCount: num(queue.maxReceiveCount, 'commandQueue.maxReceiveCount'),
      visibilityTimeoutSeconds: num(queue.visibilityTimeoutSeconds, 'commandQueue.visibilityTimeoutSeconds'),
      contentBasedDeduplication: bool(queue.contentBasedDeduplication, 'commandQueue.contentBasedDeduplication'),
    },
    metrics: {
      namespace: str(metrics.namespace, 'metrics.namespace'),
      serviceDimension: str(metrics.serviceDimension, 'metrics.serviceDimension'),
      interactions: {
        service: str(mi.service, 'metrics.interactions.service'),
        latency: str(mi.latency, 'metrics.interactions.latency'),
        errors: str(mi.errors, 'metrics.interactions.errors'),
        count: str(mi.count, 'metrics.interactions.count'),
      },
      gateway: {
        service: str(mg.service, 'metrics.gateway.service'),
        players: str(mg.players, 'metrics.gateway.players'),
        framesSent: str(mg.framesSent, 'metrics.gateway.framesSent'),
        framesNulled: str(mg.framesNulled, 'metrics.gateway.framesNulled'),
        frameDeficit: str(mg.frameDeficit, 'metrics.gateway.frameDeficit'),
        commands: str(mg.commands, 'metrics.gateway.commands'),
        commandErrors: str(mg.commandErrors, 'metrics.gateway.commandErrors'),
      },
    },
    artifacts: {
      lambdas: {
        interactions: str(lambdas.interactions, 'artifacts.lambdas.interactions'),
        allowlistAdmin: str(lambdas.allowlistAdmin, 'artifacts.lambdas.allowlistAdmin'),
        startCheck: str(lambdas.startCheck, 'artifacts.lambdas.startCheck'),
      },
      gatewayCommand: nonEmptyStrList(artifacts.gatewayCommand, 'artifacts.gatewayCommand'),
      gatewayHealthCommand: nonEmptyStrList(artifacts.gatewayHealthCommand, 'artifacts.gatewayHealthCommand'),
    },
  };

  // The counter item lives in a table: its key must be exactly that table's key.
  const counterTable = contract.tables[contract.slotCounter.table];
  const expectedKey = [counterTable.partitionKey, counterTable.sortKey].filter((k): k is string => k !== undefined);
  const actualKey = Object.keys(contract.slotCounter.key);
  if (expectedKey.length !== actualKey.length || !expectedKey.every((k) => actualKey.includes(k))) {
    throw new ContractError('slotCounter.key', `has attributes [${actualKey.join(', ')}], not the table key [${expectedKey.join(', ')}]`);
  }
  return contract;
}

function readContractFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read the deploy contract ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Reads and checks the contract file (default: infra-cdk/deploy-contract.json). */
export function loadContract(file: string = CONTRACT_PATH): DeployContract {
  return parseContract(readContractFile(file));
}

/** Every variable a component reads: required ∪ oneOf ∪ optional. */
export function knownEnv(contract: DeployContract, component: ComponentName): Set<string> {
  const env = contract.components[component];
  return new Set([...env.required, ...env.oneOf.flat(), ...env.optional]);
}

// --- environment variable roles ---------------------------------------------
//
// The contract lists names per component but not what each name means, so the
// stack needs one mapping "role → name". This is the only place environment
// variable names are spelled out in infra-cdk; `resolveEnvNames` checks every
// one against the contract, so a variable renamed or dropped in Rust fails the
// synth here, naming it.

export interface EnvNames {
  readonly discordToken: string;
  readonly discordApplicationId: string;
  readonly discordPublicKey: string;
  readonly appSecret: string;
  readonly store: string;
  readonly tableGuilds: string;
  readonly tableGuildQueues: string;
  readonly tableTrackCache: string;
  readonly tableUsers: string;
  readonly bus: string;
  readonly commandQueueUrl: string;
  readonly interactionsEndpoint: string;
  readonly metrics: string;
  readonly ytdlp: string;
  readonly allowlistMode: string;
  readonly maintainerIds: string;
  readonly maintainersChannelId: string;
  readonly gatewayCluster: string;
  readonly gatewayService: string;
  readonly startCheckQueueUrl: string;
  readonly idleStopMinutes: string;
}

const ENV_ROLES: EnvNames = {
  discordToken: 'DISCORD_TOKEN',
  discordApplicationId: 'DISCORD_APPLICATION_ID',
  discordPublicKey: 'DISCORD_PUBLIC_KEY',
  appSecret: 'TIMMYBOT_APP_SECRET',
  store: 'TIMMYBOT_STORE',
  tableGuilds: 'TIMMYBOT_TABLE_GUILDS',
  tableGuildQueues: 'TIMMYBOT_TABLE_GUILD_QUEUES',
  tableTrackCache: 'TIMMYBOT_TABLE_TRACK_CACHE',
  tableUsers: 'TIMMYBOT_TABLE_USERS',
  bus: 'TIMMYBOT_BUS',
  commandQueueUrl: 'TIMMYBOT_COMMAND_QUEUE_URL',
  interactionsEndpoint: 'TIMMYBOT_INTERACTIONS_ENDPOINT',
  metrics: 'TIMMYBOT_METRICS',
  ytdlp: 'TIMMYBOT_YTDLP',
  allowlistMode: 'TIMMYBOT_ALLOWLIST_MODE',
  maintainerIds: 'TIMMYBOT_MAINTAINER_IDS',
  maintainersChannelId: 'TIMMYBOT_MAINTAINERS_CHANNEL_ID',
  gatewayCluster: 'TIMMYBOT_GATEWAY_CLUSTER',
  gatewayService: 'TIMMYBOT_GATEWAY_SERVICE',
  startCheckQueueUrl: 'TIMMYBOT_START_CHECK_QUEUE_URL',
  idleStopMinutes: 'TIMMYBOT_IDLE_STOP_MINUTES',
};

/**
 * Values of the gateway's backend switches, as its config parser accepts
 * them (timmybot/src/config.rs). Not in the contract yet.
 */
export const ENV_VALUES = {
  storeDynamoDb: 'dynamodb',
  busSqs: 'sqs',
  metricsEmf: 'emf',
} as const;

/**
 * The role → name map, with every name checked to be read by at least one
 * component of the contract. If the contract gains an `env` object of the
 * same shape, it wins (so the mapping can move to the Rust generator).
 */
export function resolveEnvNames(contract: DeployContract, raw?: unknown): EnvNames {
  const fromContract = isObject(raw) && isObject(raw.env) ? raw.env : undefined;
  const everyKnown = new Set(COMPONENTS.flatMap((c) => [...knownEnv(contract, c)]));
  const names: Record<string, string> = {};
  for (const [role, fallback] of Object.entries(ENV_ROLES)) {
    const name = fromContract === undefined ? fallback : str(fromContract[role], `env.${role}`);
    if (!everyKnown.has(name)) {
      throw new ContractError(`components`, `no longer lists ${name} (the ${role} variable) for any component`);
    }
    names[role] = name;
  }
  return names as unknown as EnvNames;
}

/**
 * Builds one component's environment, refusing any variable the component
 * does not read: the stack can only set names the Rust config parses.
 */
export function componentEnvironment(
  contract: DeployContract,
  component: ComponentName,
  vars: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(vars)) {
    if (value !== undefined) env[name] = value;
  }
  assertComponentReads(contract, component, Object.keys(env));
  return env;
}

/** Throws unless the component reads every one of `names`. */
export function assertComponentReads(contract: DeployContract, component: ComponentName, names: readonly string[]): void {
  const known = knownEnv(contract, component);
  for (const name of names) {
    if (!known.has(name)) {
      throw new ContractError(`components.${component}`, `does not list ${name}, which the stack tried to set`);
    }
  }
}

/**
 * Loads the contract and its env roles together (one read of the file).
 */
export function loadDeployContract(file: string = CONTRACT_PATH): { contract: DeployContract; env: EnvNames } {
  const raw = readContractFile(file);
  const contract = parseContract(raw);
  return { contract, env: resolveEnvNames(contract, raw) };
}
