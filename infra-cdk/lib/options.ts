// Deploy-time options, read from CDK context (`-c key=value` on the command
// line, or the "context" object of cdk.json) into one typed, validated object.
// Every problem names the option, so a typo fails the synth with a sentence
// rather than producing a stack that deploys and then misbehaves.

import * as path from 'node:path';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

export type AllowlistMode = 'allowlist' | 'open';
export type SlotLimit = number | 'unlimited';

export interface TimmybotOptions {
  /** CloudFormation stack name. */
  readonly stackName: string;
  /** The Discord application (client) id. */
  readonly discordApplicationId: string;
  readonly allowlistMode: AllowlistMode;
  /** Discord user ids whose Approve/Deny buttons count. */
  readonly maintainerIds: readonly string[];
  /** Channel the bot announces access requests in. */
  readonly maintainersChannelId?: string;
  /** Written to the slot counter item at deploy; undefined leaves it alone. */
  readonly slotLimit?: SlotLimit;
  /** Build the image with yt-dlp and tell the gateway where it is. */
  readonly youtube: boolean;
  /** List the deployer's Spotify app's entries in the application secret and hand it to the gateway. */
  readonly spotify: boolean;
  readonly logRetentionDays: RetentionDays;
  readonly alarmEmail?: string;
  readonly taskCpu: number;
  readonly taskMemory: number;
  readonly gatewayDesiredCount: 0 | 1;
  /**
   * The interactions Lambda starts the gateway (ECS UpdateService, desired 1)
   * when a voice command finds it down, and the gateway stops itself
   * (desired 0) after `idleStopMinutes` with nothing to play.
   */
  readonly scaleToZero: boolean;
  /** Minutes with nothing playing before a scale-to-zero gateway stops itself. */
  readonly idleStopMinutes: number;
  readonly privateSubnets: boolean;
  readonly deletionProtection: boolean;
  /** Folder with one <binary>/bootstrap per Lambda (scripts/package.sh writes <repo>/dist/lambda). */
  readonly lambdaAssetsDir: string;
  /** An existing image URI; skips building the repository's Dockerfile. */
  readonly gatewayImage?: string;
  /** Reserved concurrency of each Lambda; undefined = account pool. */
  readonly lambdaReservedConcurrency?: number;
}

/** The context keys this app reads, with a one-line help each (README, errors). */
export const OPTION_HELP: Readonly<Record<keyof TimmybotOptions, string>> = {
  stackName: 'CloudFormation stack name (default Timmybot)',
  discordApplicationId: 'Discord application id, digits (required)',
  allowlistMode: 'allowlist (default) | open',
  maintainerIds: 'comma-separated Discord user ids',
  maintainersChannelId: 'Discord channel id for access requests',
  slotLimit: 'a whole number | unlimited (unset: leave the stored limit alone)',
  youtube: 'true | false (default false): build the image with yt-dlp',
  spotify: "true | false (default false): spotify-client-id and spotify-client-secret entries in the application secret, read by the gateway",
  logRetentionDays: 'CloudWatch retention in days (default 30)',
  alarmEmail: 'email address subscribed to the alarm topic',
  taskCpu: 'Fargate CPU units (default 512)',
  taskMemory: 'Fargate memory MiB (default 1024)',
  gatewayDesiredCount: '0 | 1 (default 0 with scaleToZero, else 1): the count a deploy sets',
  scaleToZero: 'true | false (default true): the first voice command starts the gateway, which stops itself when idle',
  idleStopMinutes: 'minutes with nothing playing before the gateway stops itself (default 10, 1-1440; scaleToZero only)',
  privateSubnets: 'true | false (default false): private subnets + 1 NAT gateway',
  deletionProtection: 'true | false (default true): DynamoDB deletion protection',
  lambdaAssetsDir: 'folder with <binary>/bootstrap per Lambda (default <repo>/dist/lambda, written by scripts/package.sh)',
  gatewayImage: 'existing image URI to run instead of building ../Dockerfile',
  lambdaReservedConcurrency: 'reserved concurrency per Lambda (default none)',
};

export class OptionError extends Error {
  constructor(option: string, problem: string) {
    super(`context option "${option}" ${problem} (pass it as: cdk synth -c ${option}=<value>)`);
    this.name = 'OptionError';
  }
}

/** Where scripts/package.sh copies the Lambda binaries, relative to the repo root. */
export const DEFAULT_LAMBDA_ASSETS = path.join('dist', 'lambda');

/** Fargate task sizes: CPU units → allowed memory (MiB). */
export function fargateMemoryChoices(cpu: number): readonly number[] {
  const gib = (from: number, to: number, step: number): number[] => {
    const out: number[] = [];
    for (let g = from; g <= to; g += step) out.push(g * 1024);
    return out;
  };
  switch (cpu) {
    case 256:
      return [512, 1024, 2048];
    case 512:
      return gib(1, 4, 1);
    case 1024:
      return gib(2, 8, 1);
    case 2048:
      return gib(4, 16, 1);
    case 4096:
      return gib(8, 30, 1);
    case 8192:
      return gib(16, 60, 4);
    case 16384:
      return gib(32, 120, 8);
    default:
      return [];
  }
}

/** CloudWatch Logs' allowed retention values, without "never expire". */
export const RETENTION_CHOICES: readonly number[] = Object.values(RetentionDays)
  .filter((v): v is number => typeof v === 'number' && v !== RetentionDays.INFINITE)
  .sort((a, b) => a - b);

// Context values are strings from `-c`, but may be JSON values in cdk.json.
type Lookup = (key: string) => unknown;

function text(get: Lookup, key: keyof TimmybotOptions): string | undefined {
  const value = get(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed === '' ? undefined : trimmed;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new OptionError(key, `must be a string, number or boolean, got ${JSON.stringify(value)}`);
}

function flag(get: Lookup, key: keyof TimmybotOptions, fallback: boolean): boolean {
  const value = text(get, key);
  if (value === undefined) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new OptionError(key, `must be true or false, got "${value}"`);
}

function integer(get: Lookup, key: keyof TimmybotOptions): number | undefined {
  const value = text(get, key);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new OptionError(key, `must be a whole number, got "${value}"`);
  return Number(value);
}

// Discord ids are snowflakes: unsigned 64-bit integers written in decimal.
const SNOWFLAKE = /^\d{1,20}$/;

function snowflake(key: keyof TimmybotOptions, value: string): string {
  if (!SNOWFLAKE.test(value)) throw new OptionError(key, `must be a Discord id (digits only), got "${value}"`);
  return value;
}

/**
 * Reads every option from `get` (normally `app.node.tryGetContext`).
 * `repoRoot` anchors the default Lambda assets folder; a relative
 * `lambdaAssetsDir` is taken from the current directory, like any CLI path.
 */
export function parseOptions(get: Lookup, repoRoot: string): TimmybotOptions {
  const stackName = text(get, 'stackName') ?? 'Timmybot';
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw new OptionError('stackName', `must start with a letter and hold only letters, digits and hyphens, got "${stackName}"`);
  }

  const appId = text(get, 'discordApplicationId');
  if (appId === undefined) {
    throw new OptionError('discordApplicationId', 'is required: the Discord application id from the developer portal');
  }

  const mode = text(get, 'allowlistMode') ?? 'allowlist';
  if (mode !== 'allowlist' && mode !== 'open') {
    throw new OptionError('allowlistMode', `must be allowlist or open, got "${mode}"`);
  }

  const maintainerIds = (text(get, 'maintainerIds') ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '')
    .map((id) => snowflake('maintainerIds', id));

  const channel = text(get, 'maintainersChannelId');

  let slotLimit: SlotLimit | undefined;
  const slotText = text(get, 'slotLimit');
  if (slotText === 'unlimited') slotLimit = 'unlimited';
  else if (slotText !== undefined) {
    if (!/^\d+$/.test(slotText) || !Number.isSafeInteger(Number(slotText))) {
      throw new OptionError('slotLimit', `must be a whole number or unlimited, got "${slotText}"`);
    }
    slotLimit = Number(slotText);
  }

  const retention = integer(get, 'logRetentionDays') ?? 30;
  if (!RETENTION_CHOICES.includes(retention)) {
    throw new OptionError('logRetentionDays', `must be one of ${RETENTION_CHOICES.join(', ')}, got ${retention}`);
  }

  const alarmEmail = text(get, 'alarmEmail');
  if (alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alarmEmail)) {
    throw new OptionError('alarmEmail', `is not an email address: "${alarmEmail}"`);
  }

  const taskCpu = integer(get, 'taskCpu') ?? 512;
  const memoryChoices = fargateMemoryChoices(taskCpu);
  if (memoryChoices.length === 0) {
    throw new OptionError('taskCpu', `must be a Fargate CPU size (256, 512, 1024, 2048, 4096, 8192, 16384), got ${taskCpu}`);
  }
  const taskMemory = integer(get, 'taskMemory') ?? Math.max(1024, memoryChoices[0] ?? 1024);
  if (!memoryChoices.includes(taskMemory)) {
    throw new OptionError('taskMemory', `must be one of ${memoryChoices.join(', ')} MiB with taskCpu=${taskCpu}, got ${taskMemory}`);
  }

  const scaleToZero = flag(get, 'scaleToZero', true);
  // Scaled to zero, a deploy leaves the gateway stopped: the first voice
  // command starts it (and a deploy while it plays stops it; players are
  // stored and resume at the next start).
  const desired = integer(get, 'gatewayDesiredCount') ?? (scaleToZero ? 0 : 1);
  if (desired !== 0 && desired !== 1) {
    // Two gateways would both consume the command bus and both join voice.
    throw new OptionError('gatewayDesiredCount', `must be 0 or 1 (one gateway at most), got ${desired}`);
  }

  const idleStopMinutes = integer(get, 'idleStopMinutes') ?? 10;
  if (idleStopMinutes < 1 || idleStopMinutes > 1440) {
    throw new OptionError('idleStopMinutes', `must be between 1 and 1440 minutes, got ${idleStopMinutes}`);
  }
  if (!scaleToZero && text(get, 'idleStopMinutes') !== undefined) {
    throw new OptionError('idleStopMinutes', 'only applies with scaleToZero=true (the gateway never stops itself otherwise)');
  }

  const reserved = integer(get, 'lambdaReservedConcurrency');
  if (reserved !== undefined && reserved < 1) {
    // 0 would throttle every invocation: the bot would stop answering.
    throw new OptionError('lambdaReservedConcurrency', 'must be at least 1 (0 would disable the Lambdas)');
  }

  const assets = text(get, 'lambdaAssetsDir');
  const gatewayImage = text(get, 'gatewayImage');
  if (gatewayImage !== undefined && /\s/.test(gatewayImage)) {
    throw new OptionError('gatewayImage', `must be an image URI without spaces, got "${gatewayImage}"`);
  }

  return {
    stackName,
    discordApplicationId: snowflake('discordApplicationId', appId),
    allowlistMode: mode,
    maintainerIds,
    maintainersChannelId: channel === undefined ? undefined : snowflake('maintainersChannelId', channel),
    slotLimit,
    youtube: flag(get, 'youtube', false),
    spotify: flag(get, 'spotify', false),
    logRetentionDays: retention as RetentionDays,
    alarmEmail,
    taskCpu,
    taskMemory,
    gatewayDesiredCount: desired,
    scaleToZero,
    idleStopMinutes,
    privateSubnets: flag(get, 'privateSubnets', false),
    deletionProtection: flag(get, 'deletionProtection', true),
    lambdaAssetsDir: assets === undefined ? path.join(repoRoot, DEFAULT_LAMBDA_ASSETS) : path.resolve(assets),
    gatewayImage,
    lambdaReservedConcurrency: reserved,
  };
}

/**
 * Context keys that look like ours (no ":" or "@" namespace) but are not:
 * almost always a typo such as `-c slotlimit=5`.
 */
export function unknownOptionKeys(context: Readonly<Record<string, unknown>>): string[] {
  const known = new Set<string>(Object.keys(OPTION_HELP));
  return Object.keys(context).filter((k) => !k.includes(':') && !k.startsWith('@') && !known.has(k));
}
