// The contract loader: the real file parses, the stack's env roles all exist
// in it, and a malformed or drifted contract fails with the field named.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  assertComponentReads,
  componentEnvironment,
  CONTRACT_PATH,
  ContractError,
  parseContract,
  resolveEnvNames,
} from '../lib/contract';
import { contract, envNames } from './helpers';

type Mutable = { [key: string]: unknown };
const raw = (): Mutable => JSON.parse(readFileSync(CONTRACT_PATH, 'utf8')) as Mutable;

function withField(path: string[], value: unknown): Mutable {
  const root = raw();
  let node: Mutable = root;
  for (const key of path.slice(0, -1)) node = node[key] as Mutable;
  const last = path.at(-1);
  if (last === undefined) throw new Error('empty path');
  if (value === undefined) delete node[last];
  else node[last] = value;
  return root;
}

describe('deploy contract', () => {
  it('the checked-in contract parses, with the names the stack needs', () => {
    assert.ok(contract.artifacts.gatewayCommand.length >= 1);
    assert.ok(contract.tables.guilds.indexes.length >= 1);
    // An index without a projection in the file projects everything.
    assert.equal(contract.tables.guilds.indexes[0]?.projection, 'ALL');
    // Every role name is read by some component (resolveEnvNames checked it).
    assert.ok(Object.values(envNames).length >= 10);
  });

  const broken: [string, string[], unknown, RegExp][] = [
    ['a missing table', ['tables', 'guilds'], undefined, /tables\.guilds is not an object/],
    ['a missing track cache table', ['tables', 'trackCache'], undefined, /tables\.trackCache is not an object/],
    ['a bad key type', ['tables', 'guilds', 'indexes', '0', 'partitionKey', 'type'], 'X', /indexes\[0\]\.partitionKey\.type/],
    ['an unknown projection', ['tables', 'guildQueues', 'indexes', '0', 'projection'], 'INCLUDE', /guildQueues\.indexes\[0\]\.projection/],
    ['a non-numeric redrive count', ['commandQueue', 'maxReceiveCount'], '5', /commandQueue\.maxReceiveCount/],
    ['an empty gateway command', ['artifacts', 'gatewayCommand'], [], /artifacts\.gatewayCommand is empty/],
    ['a slot counter key that is not the table key', ['slotCounter', 'key'], { guild_id: 'deployment' }, /slotCounter\.key/],
    ['a metric name missing', ['metrics', 'gateway', 'players'], undefined, /metrics\.gateway\.players/],
  ];
  for (const [what, path, value, message] of broken) {
    it(`refuses ${what}, naming the field`, () => {
      const doc = withField(path, value);
      assert.throws(() => parseContract(doc), (e: unknown) => {
        assert.ok(e instanceof ContractError, String(e));
        assert.match(e.message, message);
        return true;
      });
    });
  }

  it('a variable dropped from the Rust side fails the synth, naming it', () => {
    const doc = raw();
    const drifted = parseContract(
      JSON.parse(JSON.stringify(doc).replaceAll(`"${envNames.commandQueueUrl}"`, '"TIMMYBOT_RENAMED_QUEUE_URL"')),
    );
    assert.throws(() => resolveEnvNames(drifted), new RegExp(`no longer lists ${envNames.commandQueueUrl}`));
  });

  it('an env role map in the contract wins over the built-in one', () => {
    const doc = raw();
    doc.env = { ...envNames, metrics: envNames.ytdlp };
    assert.equal(resolveEnvNames(parseContract(doc), doc).metrics, envNames.ytdlp);
  });

  it('componentEnvironment refuses a variable the component does not read, and drops unset ones', () => {
    assert.throws(
      () => componentEnvironment(contract, 'allowlistAdmin', { [envNames.commandQueueUrl]: 'x' }),
      /components\.allowlistAdmin does not list/,
    );
    assert.deepEqual(componentEnvironment(contract, 'allowlistAdmin', { [envNames.tableGuilds]: 't', [envNames.maintainerIds]: undefined }), {
      [envNames.tableGuilds]: 't',
    });
    assert.doesNotThrow(() => assertComponentReads(contract, 'gateway', [envNames.discordToken]));
  });
});
