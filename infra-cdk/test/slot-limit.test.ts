// The slot limit write: the Rust store's own expression from the contract
// (stamping the schema version), or a plain SET/REMOVE without it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { updateParameters } from '../lib/slot-limit';
import { contract } from './helpers';

const counter = contract.slotCounter;
const bare = {
  table: counter.table,
  key: counter.key,
  limitAttribute: counter.limitAttribute,
};

describe('slot limit UpdateItem parameters', () => {
  it('use the contract expressions with every placeholder given, and only those', () => {
    if (counter.setExpression === undefined) return; // older contract: covered below
    const set = updateParameters(counter, 7);
    assert.equal(set.UpdateExpression, counter.setExpression);
    assert.deepEqual(set.ExpressionAttributeNames, { '#limit': counter.limitAttribute, '#sv': counter.schemaVersionAttribute });
    assert.deepEqual(set.ExpressionAttributeValues, { ':limit': { N: '7' }, ':sv': { N: String(counter.schemaVersion) } });

    const remove = updateParameters(counter, 'unlimited');
    assert.equal(remove.UpdateExpression, counter.removeExpression);
    assert.deepEqual(remove.ExpressionAttributeValues, { ':sv': { N: String(counter.schemaVersion) } });
  });

  it('fall back to a plain SET / REMOVE without contract expressions', () => {
    assert.deepEqual(updateParameters(bare, 3), {
      UpdateExpression: 'SET #limit = :limit',
      ExpressionAttributeNames: { '#limit': counter.limitAttribute },
      ExpressionAttributeValues: { ':limit': { N: '3' } },
    });
    assert.deepEqual(updateParameters(bare, 'unlimited'), {
      UpdateExpression: 'REMOVE #limit',
      ExpressionAttributeNames: { '#limit': counter.limitAttribute },
    });
  });

  it('refuse an expression with a placeholder the contract has no value for', () => {
    assert.throws(
      () => updateParameters({ ...counter, schemaVersionAttribute: 'sv', schemaVersion: 1, setExpression: 'SET #x = :limit', removeExpression: 'REMOVE #limit' }, 1),
      /uses #x/,
    );
  });
});
