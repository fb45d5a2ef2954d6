// The environment the stack gives each component is exactly what the Rust
// config reads: every variable set is listed by the deploy contract for that
// component, every required one is set, and each oneOf group has a member set.
// Checked on the synthesized template, for several option combinations (some
// variables only appear with an option on).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ComponentName } from '../lib/contract';
import { asArray, contract, Fixture, isObject, logicalId, makeFixture, synth, Synthesized } from './helpers';

let fixture: Fixture;
before(() => {
  fixture = makeFixture();
});
after(() => fixture.cleanup());

/** Variable names each component receives, read back from the template. */
function componentVariables(s: Synthesized): Record<ComponentName, string[]> {
  const lambdaVars = (fn: unknown): string[] => {
    const props = s.resources[logicalId(s.stack, fn)]?.Properties;
    const env = isObject(props?.Environment) ? props.Environment.Variables : undefined;
    return isObject(env) ? Object.keys(env) : [];
  };
  const task = s.resources[logicalId(s.stack, s.stack.gateway.taskDefinition.node.defaultChild)];
  const containers = asArray(task?.Properties?.ContainerDefinitions);
  assert.equal(containers.length, 1, 'one container in the gateway task');
  const [container] = containers;
  assert.ok(isObject(container));
  const names = (list: ReturnType<typeof asArray>) => list.map((e) => (isObject(e) ? String(e.Name) : ''));
  return {
    gateway: [...names(asArray(container.Environment)), ...names(asArray(container.Secrets))],
    interactions: lambdaVars(s.stack.interactions.function.node.defaultChild),
    allowlistAdmin: lambdaVars(s.stack.allowlistAdmin.function.node.defaultChild),
    startCheck: s.stack.startCheck ? lambdaVars(s.stack.startCheck.function.node.defaultChild) : [],
  };
}

const variants: [string, Record<string, string>][] = [
  ['defaults', {}],
  ['every option on', { youtube: 'true', maintainerIds: '11,22', maintainersChannelId: '33', allowlistMode: 'open', slotLimit: '5' }],
  ['registry image', { gatewayImage: 'public.ecr.aws/timmy/bot:1' }],
];

describe('environment variables match the deploy contract', () => {
  for (const [variant, ctx] of variants) {
    describe(variant, () => {
      let vars: Record<ComponentName, string[]>;
      before(() => {
        vars = componentVariables(synth(fixture, ctx));
      });

      for (const component of ['gateway', 'interactions', 'allowlistAdmin', 'startCheck'] as const) {
        const spec = contract.components[component];
        it(`${component}: sets only variables the Rust side reads`, () => {
          const known = new Set([...spec.required, ...spec.oneOf.flat(), ...spec.optional]);
          const unknown = vars[component].filter((v) => !known.has(v));
          assert.deepEqual(unknown, [], `${component} gets variables its config does not read`);
          assert.equal(new Set(vars[component]).size, vars[component].length, 'a variable is set twice');
        });
        it(`${component}: sets every required variable`, () => {
          const missing = spec.required.filter((v) => !vars[component].includes(v));
          assert.deepEqual(missing, []);
        });
        it(`${component}: sets one of each oneOf group`, () => {
          for (const group of spec.oneOf) {
            assert.ok(group.some((v) => vars[component].includes(v)), `none of ${group.join(' | ')}`);
          }
        });
      }
    });
  }
});
