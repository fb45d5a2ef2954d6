// Template assertions: the properties the deployment depends on, and how the
// options change the template.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { IMAGE_YTDLP_PATH, YTDLP_BUILD_ARG } from '../lib/gateway';
import { updateParameters } from '../lib/slot-limit';
import {
  APP_ID,
  asArray,
  CfnResource,
  contract,
  dockerImageSources,
  Fixture,
  envNames,
  isObject,
  joinedJson,
  Json,
  JsonObject,
  logicalId,
  makeFixture,
  ofType,
  synth,
  Synthesized,
} from './helpers';

let fixture: Fixture;
let base: Synthesized;

before(() => {
  fixture = makeFixture();
  base = synth(fixture);
});
after(() => fixture.cleanup());

function containerDefinition(s: Synthesized): JsonObject {
  const [task] = ofType(s.resources, 'AWS::ECS::TaskDefinition');
  assert.ok(task, 'no task definition');
  const [container] = asArray(task[1].Properties?.ContainerDefinitions);
  assert.ok(isObject(container), 'no container definition');
  return container;
}

function containerEnv(s: Synthesized): Map<string, Json> {
  const env = new Map<string, Json>();
  for (const e of asArray(containerDefinition(s).Environment)) {
    if (isObject(e) && typeof e.Name === 'string') env.set(e.Name, e.Value ?? null);
  }
  return env;
}

describe('DynamoDB tables', () => {
  const tables = [
    ['guilds', contract.tables.guilds],
    ['guildQueues', contract.tables.guildQueues],
    ['users', contract.tables.users],
  ] as const;

  for (const [name, spec] of tables) {
    it(`${name}: keys, billing, TTL, PITR, retention, deletion protection`, () => {
      const keySchema = [{ AttributeName: spec.partitionKey, KeyType: 'HASH' }];
      if (spec.sortKey) keySchema.push({ AttributeName: spec.sortKey, KeyType: 'RANGE' });
      base.template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: Match.objectLike({
          KeySchema: keySchema,
          BillingMode: 'PAY_PER_REQUEST',
          TimeToLiveSpecification: { AttributeName: spec.ttlAttribute, Enabled: true },
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
        }),
      });
    });
  }

  it('guilds has the GSI from the contract, projecting ALL', () => {
    const [index] = contract.tables.guilds.indexes;
    assert.ok(index, 'the contract lists no guilds index');
    base.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: Match.arrayWith([{ AttributeName: contract.tables.guilds.partitionKey, KeyType: 'HASH' }]),
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: index.partitionKey.name, AttributeType: index.partitionKey.type },
        ...(index.sortKey ? [{ AttributeName: index.sortKey.name, AttributeType: index.sortKey.type }] : []),
      ]),
      GlobalSecondaryIndexes: [
        {
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
            ...(index.sortKey ? [{ AttributeName: index.sortKey.name, KeyType: 'RANGE' }] : []),
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('guildQueues has the active-players GSI from the contract, keys only', () => {
    const [index, ...more] = contract.tables.guildQueues.indexes;
    assert.ok(index, 'the contract lists no guildQueues index');
    assert.equal(more.length, 0);
    assert.equal(index.name, 'active-players');
    assert.equal(index.projection, 'KEYS_ONLY');
    assert.equal(index.sortKey, undefined);
    const spec = contract.tables.guildQueues;
    base.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: spec.partitionKey, KeyType: 'HASH' },
        { AttributeName: spec.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: index.partitionKey.name, AttributeType: index.partitionKey.type }]),
      GlobalSecondaryIndexes: [
        {
          IndexName: index.name,
          KeySchema: [{ AttributeName: index.partitionKey.name, KeyType: 'HASH' }],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    });
  });

  it('trackCache: its own key alone, billing, TTL; no PITR, destroyed with the stack', () => {
    const spec = contract.tables.trackCache;
    assert.equal(spec.partitionKey, 'key');
    assert.equal(spec.sortKey, undefined);
    assert.equal(spec.ttlAttribute, 'expires_at');
    const id = logicalId(base.stack, base.stack.tables.trackCache.table.node.defaultChild);
    const table = base.resources[id];
    assert.equal(table?.DeletionPolicy, 'Delete');
    assert.equal(table?.UpdateReplacePolicy, 'Delete');
    const props = table?.Properties ?? {};
    assert.deepEqual(props.KeySchema, [{ AttributeName: 'key', KeyType: 'HASH' }]);
    assert.deepEqual(props.AttributeDefinitions, [{ AttributeName: 'key', AttributeType: 'S' }]);
    assert.equal(props.BillingMode, 'PAY_PER_REQUEST');
    assert.deepEqual(props.TimeToLiveSpecification, { AttributeName: 'expires_at', Enabled: true });
    assert.deepEqual(props.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: false });
    assert.equal(props.DeletionProtectionEnabled, false);
    assert.equal(props.GlobalSecondaryIndexes, undefined);
  });

  it('deletionProtection=false turns it off (data tables stay retained)', () => {
    const s = synth(fixture, { deletionProtection: 'false' });
    const cacheId = logicalId(s.stack, s.stack.tables.trackCache.table.node.defaultChild);
    const tables = ofType(s.resources, 'AWS::DynamoDB::Table');
    assert.equal(tables.length, 4);
    for (const [id, table] of tables) {
      assert.equal(table.Properties?.DeletionProtectionEnabled, false);
      assert.equal(table.DeletionPolicy, id === cacheId ? 'Delete' : 'Retain', id);
    }
  });
});

describe('command bus', () => {
  it('is FIFO with a FIFO dead-letter queue and the contract attributes', () => {
    // The command bus and its dead letters, the start check's two.
    const queues = ofType(base.resources, 'AWS::SQS::Queue');
    assert.equal(queues.length, 4);
    assert.equal(queues.filter(([, q]) => q.Properties?.FifoQueue === true).length, 2);
    const dlqId = logicalId(base.stack, base.stack.commands.deadLetterQueue.node.defaultChild);
    base.template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: contract.commandQueue.contentBasedDeduplication,
      VisibilityTimeout: contract.commandQueue.visibilityTimeoutSeconds,
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
        maxReceiveCount: contract.commandQueue.maxReceiveCount,
      },
    });
    const dlq = base.resources[dlqId];
    assert.equal(dlq?.Properties?.FifoQueue, true);
    assert.equal(dlq?.Properties?.MessageRetentionPeriod, 14 * 24 * 3600);
  });

  it('every queue denies non-TLS access', () => {
    const policies = ofType(base.resources, 'AWS::SQS::QueuePolicy');
    assert.equal(policies.length, 4);
    for (const [, p] of policies) {
      assert.match(JSON.stringify(p.Properties), /"aws:SecureTransport":"false"/);
    }
  });
});

describe('Lambdas', () => {
  it('run provided.al2023 on arm64 from bootstrap', () => {
    const check = base.stack.startCheck;
    assert.ok(check);
    const fns = [base.stack.interactions.function, base.stack.allowlistAdmin.function, check.function];
    for (const fn of fns) {
      const props = base.resources[logicalId(base.stack, fn.node.defaultChild)]?.Properties;
      assert.deepEqual(props?.Architectures, ['arm64']);
      assert.equal(props?.Runtime, 'provided.al2023');
      assert.equal(props?.Handler, 'bootstrap');
      assert.ok(isObject(props?.LoggingConfig));
      assert.equal(props.LoggingConfig.LogFormat, 'JSON');
    }
  });

  it('interactions URL is public (Ed25519 in code), admin URL needs IAM', () => {
    const urls = ofType(base.resources, 'AWS::Lambda::Url');
    assert.equal(urls.length, 2);
    const byTarget = (fnId: string) =>
      urls.find(([, u]) => JSON.stringify(u.Properties?.TargetFunctionArn) === JSON.stringify({ 'Fn::GetAtt': [fnId, 'Arn'] }));
    const interactions = byTarget(logicalId(base.stack, base.stack.interactions.function.node.defaultChild));
    const admin = byTarget(logicalId(base.stack, base.stack.allowlistAdmin.function.node.defaultChild));
    assert.equal(interactions?.[1].Properties?.AuthType, 'NONE');
    assert.equal(admin?.[1].Properties?.AuthType, 'AWS_IAM');
  });

  it('interactions answers within Discord limits: 256 MB, 10 s', () => {
    const props = base.resources[logicalId(base.stack, base.stack.interactions.function.node.defaultChild)]?.Properties;
    assert.equal(props?.MemorySize, 256);
    assert.equal(props?.Timeout, 10);
    assert.equal(props?.ReservedConcurrentExecutions, undefined);
  });

  it('lambdaReservedConcurrency applies to every function', () => {
    const s = synth(fixture, { lambdaReservedConcurrency: '3' });
    const fns = ofType(s.resources, 'AWS::Lambda::Function').filter(([, f]) => f.Properties?.Handler === 'bootstrap');
    assert.equal(fns.length, 3);
    for (const [, f] of fns) assert.equal(f.Properties?.ReservedConcurrentExecutions, 3);
  });
});

describe('gateway service', () => {
  it('runs on Fargate ARM64 with the contract command and health check', () => {
    base.template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      Cpu: '512',
      Memory: '1024',
    });
    const c = containerDefinition(base);
    assert.deepEqual(c.Command, contract.artifacts.gatewayCommand.slice(1));
    const [binary, ...args] = contract.artifacts.gatewayHealthCommand;
    assert.ok(isObject(c.HealthCheck));
    assert.deepEqual(c.HealthCheck.Command, ['CMD', `/usr/local/bin/${binary}`, ...args]);
    assert.ok(isObject(c.LogConfiguration));
    assert.equal(c.LogConfiguration.LogDriver, 'awslogs');
  });

  it('never runs two gateways: deployed stopped (scale to zero), min 0 %, max 100 %, circuit breaker with rollback', () => {
    base.template.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 0,
      LaunchType: 'FARGATE',
      DeploymentConfiguration: Match.objectLike({
        MinimumHealthyPercent: 0,
        MaximumPercent: 100,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      }),
    });
  });

  it('task size and desired count follow the options', () => {
    const s = synth(fixture, { taskCpu: '1024', taskMemory: '2048', gatewayDesiredCount: '1' });
    s.template.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '1024', Memory: '2048' });
    s.template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 1 });
    synth(fixture, { scaleToZero: 'false' }).template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 1 });
  });

  it('security group admits nothing inbound and allows all outbound', () => {
    const groups = ofType(base.resources, 'AWS::EC2::SecurityGroup');
    assert.equal(groups.length, 1);
    const [, sg] = groups[0] ?? [];
    assert.deepEqual(asArray(sg?.Properties?.SecurityGroupIngress), []);
    assert.deepEqual(sg?.Properties?.SecurityGroupEgress, [
      { CidrIp: '0.0.0.0/0', Description: 'Allow all outbound traffic by default', IpProtocol: '-1' },
    ]);
    base.template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  it('default network: public subnets in 2 AZs, public IP, no NAT gateway', () => {
    base.template.resourceCountIs('AWS::EC2::NatGateway', 0);
    base.template.resourceCountIs('AWS::EC2::Subnet', 2);
    base.template.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'ENABLED' }) },
    });
  });

  it('privateSubnets=true: private subnets, one NAT gateway, no public IP', () => {
    const s = synth(fixture, { privateSubnets: 'true' });
    s.template.resourceCountIs('AWS::EC2::NatGateway', 1);
    s.template.resourceCountIs('AWS::EC2::Subnet', 4);
    s.template.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
    });
  });

  it('VPC flow logs record rejected traffic', () => {
    base.template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT', LogDestinationType: 'cloud-watch-logs' });
  });

  it('builds the repository Dockerfile for linux/arm64 without yt-dlp by default', () => {
    const [image, ...more] = dockerImageSources(base);
    assert.equal(more.length, 0);
    assert.equal(image?.platform, 'linux/arm64');
    assert.equal(image?.dockerFile, 'Dockerfile');
    assert.deepEqual(image?.dockerBuildArgs, { [YTDLP_BUILD_ARG]: 'false' });
    assert.equal(containerEnv(base).has(envNames.ytdlp), false);
  });

  it('youtube=true adds the build argument and TIMMYBOT_YTDLP', () => {
    const s = synth(fixture, { youtube: 'true' });
    assert.deepEqual(dockerImageSources(s)[0]?.dockerBuildArgs, { [YTDLP_BUILD_ARG]: 'true' });
    assert.equal(containerEnv(s).get(envNames.ytdlp), IMAGE_YTDLP_PATH);
  });

  it('spotify=true lists the Spotify entries, names the one secret to the gateway and lets its task read it', () => {
    const off = synth(fixture, {});
    assert.equal(containerEnv(off).has(envNames.appSecret), false);
    const s = synth(fixture, { spotify: 'true' });
    const all = ofType(s.resources, 'AWS::SecretsManager::Secret');
    assert.equal(all.length, 1, 'still one secret');
    const [appId, app] = all[0] as [string, CfnResource];
    const generate = app.Properties?.GenerateSecretString;
    assert.ok(isObject(generate));
    const template = JSON.parse(String(generate.SecretStringTemplate)) as Record<string, string>;
    assert.equal(template['spotify-client-id'], '', 'blank until set: Spotify off');
    assert.equal(template['spotify-client-secret'], '');
    assert.deepEqual(containerEnv(s).get(envNames.appSecret), { Ref: appId });
    const taskRoleId = logicalId(s.stack, s.stack.gateway.taskDefinition.taskRole.node.defaultChild);
    const reads = statements(s.resources, ['AWS::IAM::Policy']).filter(
      (st) =>
        st.actions.includes('secretsmanager:GetSecretValue') &&
        JSON.stringify(s.resources[st.where]?.Properties?.Roles ?? []).includes(`"${taskRoleId}"`),
    );
    assert.equal(reads.length, 1, 'the task role reads the secret');
    assert.deepEqual(reads[0]?.resources, [{ Ref: appId }], 'that one secret only');
  });

  it('gatewayImage runs that image and builds nothing', () => {
    const s = synth(fixture, { gatewayImage: 'public.ecr.aws/timmy/bot:1.0' });
    assert.equal(containerDefinition(s).Image, 'public.ecr.aws/timmy/bot:1.0');
    assert.deepEqual(dockerImageSources(s), []);
  });

  it('wires the Discord ids, allowlist settings and AWS backends', () => {
    const s = synth(fixture, { maintainerIds: '11,22', maintainersChannelId: '33', allowlistMode: 'open' });
    const env = containerEnv(s);
    assert.equal(env.get(envNames.discordApplicationId), APP_ID);
    assert.equal(env.get(envNames.store), 'dynamodb');
    assert.equal(env.get(envNames.bus), 'sqs');
    assert.equal(env.get(envNames.metrics), 'emf');
    assert.equal(env.get(envNames.allowlistMode), 'open');
    assert.equal(env.get(envNames.maintainerIds), '11,22');
    assert.equal(env.get(envNames.maintainersChannelId), '33');
    assert.deepEqual(env.get(envNames.interactionsEndpoint), {
      'Fn::GetAtt': [logicalId(s.stack, s.stack.interactions.function.node.tryFindChild('FunctionUrl')?.node.defaultChild), 'FunctionUrl'],
    });
    const secrets = asArray(containerDefinition(s).Secrets).map((x) => (isObject(x) ? x.Name : null));
    assert.deepEqual(secrets.sort(), [envNames.discordPublicKey, envNames.discordToken].sort());
  });
});

describe('secrets', () => {
  it('are one secret holding no value in the template: a JSON template of placeholders, the key generated', () => {
    const secrets = ofType(base.resources, 'AWS::SecretsManager::Secret');
    assert.equal(secrets.length, 1, 'one secret, $0.40 a month');
    const [[, secret]] = secrets as [[string, CfnResource]];
    assert.equal(secret.Properties?.SecretString, undefined);
    assert.match(String(secret.Properties?.Description), /timmybot/);
    const generate = secret.Properties?.GenerateSecretString;
    assert.ok(isObject(generate));
    assert.equal(generate.GenerateStringKey, 'token-encryption-key');
    assert.equal(generate.PasswordLength, 64);
    assert.equal(generate.ExcludePunctuation, true);
    const template = JSON.parse(String(generate.SecretStringTemplate)) as Record<string, string>;
    assert.deepEqual(Object.keys(template).sort(), ['discord-public-key', 'discord-token']);
    for (const [entry, value] of Object.entries(template)) {
      assert.equal(value, `set-me:${entry}`, 'a placeholder, never a value');
    }
    assert.equal(secret.DeletionPolicy, 'Retain', 'it holds the key that decrypts stored tokens');
  });

  it('is read by each function and injected into the task by entry, and nothing else reads it', () => {
    const [[appId]] = ofType(base.resources, 'AWS::SecretsManager::Secret') as [[string, CfnResource]];
    for (const fn of [base.stack.interactions.function, base.stack.allowlistAdmin.function]) {
      const env = base.resources[logicalId(base.stack, fn.node.defaultChild)]?.Properties?.Environment;
      assert.ok(isObject(env) && isObject(env.Variables));
      assert.deepEqual(env.Variables[envNames.appSecret], { Ref: appId });
    }
    const readers = statements(base.resources, ['AWS::IAM::Policy'])
      .filter((st) => st.actions.some((a) => a.startsWith('secretsmanager:')))
      .map((st) => {
        assert.deepEqual(st.resources, [{ Ref: appId }], `${st.where} reads only the application secret`);
        return JSON.stringify(base.resources[st.where]?.Properties?.Roles);
      });
    const roleOf = (role: unknown) => `"${logicalId(base.stack, role)}"`;
    const expected = [
      base.stack.interactions.role.node.defaultChild,
      base.stack.allowlistAdmin.role.node.defaultChild,
      base.stack.gateway.taskDefinition.executionRole?.node.defaultChild,
    ].map(roleOf);
    assert.equal(readers.length, expected.length, JSON.stringify(readers));
    for (const role of expected) assert.ok(readers.some((r) => r.includes(role)), `${role} reads the secret`);

    // ECS fills DISCORD_TOKEN and DISCORD_PUBLIC_KEY from one JSON key each.
    const injected = asArray(containerDefinition(base).Secrets).filter(isObject);
    for (const [name, entry] of [
      [envNames.discordToken, 'discord-token'],
      [envNames.discordPublicKey, 'discord-public-key'],
    ]) {
      const from = injected.find((x) => x.Name === name)?.ValueFrom;
      assert.ok(JSON.stringify(from).includes(`:${entry}::`), `${name} is the ${entry} entry: ${JSON.stringify(from)}`);
      assert.ok(JSON.stringify(from).includes(`"Ref":"${appId}"`), `${name} comes from the application secret`);
    }
  });
});

// Actions AWS only grants on Resource "*": each with the reason it is needed.
const STAR_RESOURCE_EXCEPTIONS: Readonly<Record<string, string>> = {
  'ecr:GetAuthorizationToken': 'ECR login has no resource-level permissions; CDK adds it to pull the built image',
};

interface Statement {
  readonly where: string;
  readonly effect: string;
  readonly actions: string[];
  readonly resources: Json[];
}

function statements(resources: Readonly<Record<string, CfnResource>>, types: string[]): Statement[] {
  const out: Statement[] = [];
  const collect = (where: string, doc: Json | undefined) => {
    if (!isObject(doc)) return;
    for (const st of asArray(doc.Statement)) {
      if (!isObject(st)) continue;
      out.push({
        where,
        effect: String(st.Effect),
        actions: asArray(st.Action).map(String),
        resources: asArray(st.Resource),
      });
    }
  };
  for (const [id, r] of Object.entries(resources)) {
    if (!types.includes(r.Type)) continue;
    const p = r.Properties ?? {};
    collect(id, p.PolicyDocument);
    for (const inline of asArray(p.Policies)) if (isObject(inline)) collect(`${id} inline`, inline.PolicyDocument);
  }
  return out;
}

describe('IAM least privilege', () => {
  const variants: [string, Record<string, string>][] = [
    ['default', {}],
    ['every option on', { slotLimit: '10', privateSubnets: 'true', youtube: 'true', alarmEmail: 'ops@example.com', maintainerIds: '1' }],
  ];
  for (const [name, ctx] of variants) {
    it(`${name}: no wildcard action, no "*" resource outside the listed exceptions, no managed policy but the CDK provider's`, () => {
      const s = name === 'default' ? base : synth(fixture, ctx);
      const identity = statements(s.resources, ['AWS::IAM::Policy', 'AWS::IAM::Role', 'AWS::IAM::ManagedPolicy']);
      assert.ok(identity.length > 5);
      for (const st of identity) {
        for (const action of st.actions) assert.ok(!action.includes('*'), `${st.where}: wildcard action ${action}`);
        if (st.resources.some((r) => r === '*')) {
          for (const action of st.actions) {
            assert.ok(action in STAR_RESOURCE_EXCEPTIONS, `${st.where}: ${action} on Resource "*"`);
          }
        }
      }
      // Resource policies (queues, topic): their Deny statements use sqs:* / sns:*
      // on purpose (refuse non-TLS); every Allow must be specific.
      const resourcePolicies = statements(s.resources, ['AWS::SQS::QueuePolicy', 'AWS::SNS::TopicPolicy']);
      for (const st of resourcePolicies.filter((x) => x.effect === 'Allow')) {
        for (const action of st.actions) assert.ok(!action.includes('*'), `${st.where}: wildcard action ${action}`);
      }
      // Only the AwsCustomResource provider (slotLimit) carries a managed policy.
      for (const [id, role] of ofType(s.resources, 'AWS::IAM::Role')) {
        const managed = asArray(role.Properties?.ManagedPolicyArns);
        if (managed.length > 0) {
          assert.ok(s.stack.slotLimit, `${id} has managed policies`);
          assert.match(JSON.stringify(managed), /service-role\/AWSLambdaBasicExecutionRole/);
        }
      }
    });
  }

  it('interactions gets the guild-queues table name and may only read it; it may write the guilds table', () => {
    const fnId = logicalId(base.stack, base.stack.interactions.function.node.defaultChild);
    const env = base.resources[fnId]?.Properties?.Environment;
    const queuesId = logicalId(base.stack, base.stack.tables.guildQueues.table.node.defaultChild);
    const guildsId = logicalId(base.stack, base.stack.tables.guilds.table.node.defaultChild);
    assert.ok(isObject(env) && isObject(env.Variables));
    assert.deepEqual(env.Variables[envNames.tableGuildQueues], { Ref: queuesId });
    const roleId = logicalId(base.stack, base.stack.interactions.role.node.defaultChild);
    const mine = statements(base.resources, ['AWS::IAM::Policy']).filter((st) =>
      JSON.stringify(base.resources[st.where]?.Properties?.Roles ?? []).includes(`"${roleId}"`),
    );
    const on = (tableId: string) => mine.filter((st) => JSON.stringify(st.resources).includes(`"${tableId}"`));
    // Besides reading, it may only write the deployment's own items (the
    // starting marker; checked under "scale to zero").
    const queues = on(queuesId).filter((st) => !st.actions.includes('dynamodb:PutItem'));
    assert.equal(queues.length, 1, JSON.stringify(queues));
    assert.deepEqual([...(queues[0]?.actions ?? [])].sort(), ['dynamodb:GetItem', 'dynamodb:Query']);
    assert.deepEqual(queues[0]?.resources, [{ 'Fn::GetAtt': [queuesId, 'Arn'] }], 'the table itself, not its index');
    // The settings item (`kind = "settings"`) is put by /settings.
    const guilds = on(guildsId).flatMap((st) => st.actions);
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem']) assert.ok(guilds.includes(action), action);
  });

  it('interactions and the gateway task get the track cache name and only GetItem, PutItem, DeleteItem on it', () => {
    const cacheId = logicalId(base.stack, base.stack.tables.trackCache.table.node.defaultChild);
    const onCache = (role: unknown) => {
      const roleId = logicalId(base.stack, role);
      return statements(base.resources, ['AWS::IAM::Policy']).filter(
        (st) =>
          JSON.stringify(base.resources[st.where]?.Properties?.Roles ?? []).includes(`"${roleId}"`) &&
          JSON.stringify(st.resources).includes(`"${cacheId}"`),
      );
    };
    for (const [who, role] of [
      ['interactions', base.stack.interactions.role.node.defaultChild],
      ['gateway task', base.stack.gateway.taskDefinition.taskRole.node.defaultChild],
    ] as const) {
      const grants = onCache(role);
      assert.equal(grants.length, 1, `${who}: ${JSON.stringify(grants)}`);
      assert.deepEqual([...(grants[0]?.actions ?? [])].sort(), ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'], who);
      assert.deepEqual(grants[0]?.resources, [{ 'Fn::GetAtt': [cacheId, 'Arn'] }], `${who}: the table itself`);
    }
    assert.deepEqual(onCache(base.stack.allowlistAdmin.role.node.defaultChild), [], 'the admin API never reads the cache');
    assert.deepEqual(onCache(base.stack.startCheck?.fn.role.node.defaultChild), [], 'the start check never reads the cache');

    const fnEnv = (fn: unknown) => {
      const env = base.resources[logicalId(base.stack, fn)]?.Properties?.Environment;
      return isObject(env) && isObject(env.Variables) ? env.Variables : {};
    };
    assert.deepEqual(fnEnv(base.stack.interactions.function.node.defaultChild)[envNames.tableTrackCache], { Ref: cacheId });
    assert.equal(fnEnv(base.stack.allowlistAdmin.function.node.defaultChild)[envNames.tableTrackCache], undefined);
    assert.deepEqual(containerEnv(base).get(envNames.tableTrackCache), { Ref: cacheId });
    assert.equal(envNames.tableTrackCache, 'TIMMYBOT_TABLE_TRACK_CACHE');
  });

  it('interactions and the gateway task may read and write the users table and get its name', () => {
    const usersId = logicalId(base.stack, base.stack.tables.users.table.node.defaultChild);
    const onUsers = (role: unknown) => {
      const roleId = logicalId(base.stack, role);
      return statements(base.resources, ['AWS::IAM::Policy']).filter(
        (st) =>
          JSON.stringify(base.resources[st.where]?.Properties?.Roles ?? []).includes(`"${roleId}"`) &&
          JSON.stringify(st.resources).includes(`"${usersId}"`),
      );
    };
    for (const [who, role] of [
      ['interactions', base.stack.interactions.role.node.defaultChild],
      ['gateway task', base.stack.gateway.taskDefinition.taskRole.node.defaultChild],
    ] as const) {
      const actions = onUsers(role).flatMap((st) => st.actions);
      for (const action of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem']) {
        assert.ok(actions.includes(action), `${who}: ${action}`);
      }
      assert.ok(!actions.includes('dynamodb:Scan'), `${who}: no scan of every member`);
    }
    assert.deepEqual(onUsers(base.stack.allowlistAdmin.role.node.defaultChild), [], 'the admin API never reads members');
    const fnEnv = (fn: unknown) => {
      const env = base.resources[logicalId(base.stack, fn)]?.Properties?.Environment;
      return isObject(env) && isObject(env.Variables) ? env.Variables : {};
    };
    assert.deepEqual(fnEnv(base.stack.interactions.function.node.defaultChild)[envNames.tableUsers], { Ref: usersId });
    assert.deepEqual(containerEnv(base).get(envNames.tableUsers), { Ref: usersId });
    assert.equal(envNames.tableUsers, 'TIMMYBOT_TABLE_USERS');
  });

  it('the gateway task may consume the bus but not send; interactions may send but not consume', () => {
    const byRole = (role: unknown) => {
      const roleId = logicalId(base.stack, role);
      return statements(base.resources, ['AWS::IAM::Policy'])
        .filter((st) => JSON.stringify(base.resources[st.where]?.Properties?.Roles ?? []).includes(`"${roleId}"`))
        .flatMap((st) => st.actions);
    };
    const task = byRole(base.stack.gateway.taskDefinition.taskRole.node.defaultChild);
    const interactions = byRole(base.stack.interactions.role.node.defaultChild);
    assert.ok(task.includes('sqs:ReceiveMessage') && task.includes('sqs:DeleteMessage'));
    assert.ok(!task.includes('sqs:SendMessage'));
    assert.ok(interactions.includes('sqs:SendMessage'));
    assert.ok(!interactions.includes('sqs:ReceiveMessage'));
    assert.ok(!task.some((a) => a.startsWith('secretsmanager:')), 'the task reads secrets only through ECS injection');
  });
});

describe('scale to zero', () => {
  const serviceArn = {
    'Fn::Join': [
      '',
      ['arn:', { Ref: 'AWS::Partition' }, ':ecs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':service/Timmybot-gateway/Timmybot-gateway'],
    ],
  };
  const scaling = (s: Synthesized, role: unknown) => {
    const roleId = logicalId(s.stack, role);
    return statements(s.resources, ['AWS::IAM::Policy'])
      .filter((st) => JSON.stringify(s.resources[st.where]?.Properties?.Roles ?? []).includes(`"${roleId}"`))
      .filter((st) => st.actions.some((a) => a.startsWith('ecs:')));
  };
  const fnEnv = (s: Synthesized) => {
    const env = s.resources[logicalId(s.stack, s.stack.interactions.function.node.defaultChild)]?.Properties?.Environment;
    return isObject(env) && isObject(env.Variables) ? env.Variables : {};
  };

  it('the service and cluster have fixed names, which the Lambda and the task are given', () => {
    base.template.hasResourceProperties('AWS::ECS::Service', { ServiceName: 'Timmybot-gateway' });
    base.template.hasResourceProperties('AWS::ECS::Cluster', { ClusterName: 'Timmybot-gateway' });
    assert.equal(fnEnv(base)[envNames.gatewayCluster], 'Timmybot-gateway');
    assert.equal(fnEnv(base)[envNames.gatewayService], 'Timmybot-gateway');
    const env = containerEnv(base);
    assert.equal(env.get(envNames.gatewayCluster), 'Timmybot-gateway');
    assert.equal(env.get(envNames.gatewayService), 'Timmybot-gateway');
    assert.equal(env.get(envNames.idleStopMinutes), '10');
    assert.equal(containerEnv(synth(fixture, { idleStopMinutes: '30' })).get(envNames.idleStopMinutes), '30');
  });

  it('the interactions Lambda and the task may update and describe their own service and nothing else', () => {
    for (const [who, role] of [
      ['interactions', base.stack.interactions.role.node.defaultChild],
      ['gateway task', base.stack.gateway.taskDefinition.taskRole.node.defaultChild],
      ['start check', base.stack.startCheck?.fn.role.node.defaultChild],
    ] as const) {
      const grants = scaling(base, role);
      assert.equal(grants.length, 1, `${who}: ${JSON.stringify(grants)}`);
      assert.deepEqual([...(grants[0]?.actions ?? [])].sort(), ['ecs:DescribeServices', 'ecs:UpdateService'], who);
      assert.deepEqual(grants[0]?.resources, [serviceArn], `${who}: only this service`);
    }
    assert.deepEqual(scaling(base, base.stack.allowlistAdmin.role.node.defaultChild), [], 'the admin API cannot scale');
  });

  it('scaleToZero=false: no names handed out, no ECS permission, no start alarm', () => {
    const s = synth(fixture, { scaleToZero: 'false' });
    assert.equal(s.stack.startCheck, undefined, 'no start check');
    assert.equal(fnEnv(s)[envNames.startCheckQueueUrl], undefined);
    assert.equal(ofType(s.resources, 'AWS::Lambda::EventSourceMapping').length, 0);
    assert.equal(fnEnv(s)[envNames.gatewayService], undefined);
    assert.equal(containerEnv(s).has(envNames.idleStopMinutes), false);
    assert.equal(containerEnv(s).has(envNames.gatewayService), false);
    assert.deepEqual(scaling(s, s.stack.interactions.role.node.defaultChild), []);
    assert.deepEqual(scaling(s, s.stack.gateway.taskDefinition.taskRole.node.defaultChild), []);
    assert.equal(ofType(s.resources, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties?.MetricName === 'ApproximateAgeOfOldestMessage').length, 0);
  });

  it('the interactions Lambda may put and delete only the deployment\'s items of the guild-queues table', () => {
    const queuesId = logicalId(base.stack, base.stack.tables.guildQueues.table.node.defaultChild);
    const roleId = logicalId(base.stack, base.stack.interactions.role.node.defaultChild);
    const policies = ofType(base.resources, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties?.Roles ?? []).includes(`"${roleId}"`));
    const writes = policies
      .flatMap(([, p]) => asArray(isObject(p.Properties?.PolicyDocument) ? p.Properties.PolicyDocument.Statement : []))
      .filter((st): st is JsonObject => isObject(st) && JSON.stringify(st.Resource).includes(`"${queuesId}"`))
      .filter((st) => asArray(st.Action).some((a) => a === 'dynamodb:PutItem' || a === 'dynamodb:DeleteItem'));
    assert.equal(writes.length, 1, JSON.stringify(writes));
    assert.deepEqual(writes[0]?.Condition, { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['deployment'] } });
    const off = synth(fixture, { scaleToZero: 'false' });
    const offRole = logicalId(off.stack, off.stack.interactions.role.node.defaultChild);
    const offWrites = ofType(off.resources, 'AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties?.Roles ?? []).includes(`"${offRole}"`))
      .flatMap(([, p]) => asArray(isObject(p.Properties?.PolicyDocument) ? p.Properties.PolicyDocument.Statement : []))
      .filter((st) => isObject(st) && asArray(st.Action).includes('dynamodb:PutItem') && JSON.stringify(st.Condition ?? {}).includes('LeadingKeys'));
    assert.equal(offWrites.length, 0);
  });

  it('each start sets its check on a standard queue, which invokes the start-check Lambda one message at a time', () => {
    const check = base.stack.startCheck;
    assert.ok(check, 'scale to zero has a start check');
    const queueId = logicalId(base.stack, check.queue.node.defaultChild);
    const fnId = logicalId(base.stack, check.function.node.defaultChild);
    const queue = base.resources[queueId]?.Properties ?? {};
    assert.equal(queue.FifoQueue, undefined, 'a standard queue: FIFO queues refuse per-message delays');
    assert.equal(queue.SqsManagedSseEnabled, true);
    assert.ok(isObject(queue.RedrivePolicy), 'a dead-letter queue');
    base.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: fnId },
      BatchSize: 1,
    });
    const timeout = base.resources[fnId]?.Properties?.Timeout;
    assert.ok(typeof timeout === 'number' && Number(queue.VisibilityTimeout) >= 6 * timeout, 'visibility ≥ 6× the timeout');
    assert.deepEqual(fnEnv(base)[envNames.startCheckQueueUrl], { Ref: queueId }, 'the interactions Lambda sets checks there');
    const checkProps = base.resources[fnId]?.Properties?.Environment;
    const checkEnv = isObject(checkProps) && isObject(checkProps.Variables) ? checkProps.Variables : {};
    assert.deepEqual(checkEnv[envNames.startCheckQueueUrl], { Ref: queueId });
    assert.equal(checkEnv[envNames.gatewayService], 'Timmybot-gateway');
  });

  it('the start check may touch only the deployment\'s items and send only to its own queue', () => {
    const check = base.stack.startCheck;
    assert.ok(check);
    const queuesId = logicalId(base.stack, base.stack.tables.guildQueues.table.node.defaultChild);
    const roleId = logicalId(base.stack, check.fn.role.node.defaultChild);
    const statements = ofType(base.resources, 'AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties?.Roles ?? []).includes(`"${roleId}"`))
      .flatMap(([, p]) => asArray(isObject(p.Properties?.PolicyDocument) ? p.Properties.PolicyDocument.Statement : []))
      .filter((st): st is JsonObject => isObject(st));
    const onTable = statements.filter((st) => JSON.stringify(st.Resource).includes(`"${queuesId}"`));
    assert.equal(onTable.length, 1, JSON.stringify(onTable));
    assert.deepEqual([...asArray(onTable[0]?.Action)].sort(), ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']);
    assert.deepEqual(onTable[0]?.Condition, { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['deployment'] } });
    const sends = statements.filter((st) => asArray(st.Action).includes('sqs:SendMessage'));
    const checkQueueId = logicalId(base.stack, check.queue.node.defaultChild);
    assert.ok(sends.length >= 1 && sends.every((st) => JSON.stringify(st.Resource).includes(`"${checkQueueId}"`)), JSON.stringify(sends));
    assert.ok(!JSON.stringify(statements).includes('secretsmanager'), 'no secret: replies are edited with their own tokens');
  });

  it('a late start found by the start check alarms through the same metric', () => {
    const check = base.stack.startCheck;
    assert.ok(check);
    const logGroupId = logicalId(base.stack, check.fn.logGroup.node.defaultChild);
    base.template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logGroupId },
      FilterPattern: '"GatewayStartOverdue"',
      MetricTransformations: [Match.objectLike({ MetricName: 'GatewayStartOverdue', MetricValue: '1' })],
    });
  });

  it('a start that is overdue (logged by the interactions Lambda) alarms through a metric filter', () => {
    const topicId = logicalId(base.stack, base.stack.monitoring.topic.node.defaultChild);
    base.template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '"GatewayStartOverdue"',
      MetricTransformations: [Match.objectLike({ MetricName: 'GatewayStartOverdue', MetricValue: '1' })],
    });
    base.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'GatewayStartOverdue',
      Threshold: 1,
      AlarmActions: [{ Ref: topicId }],
    });
  });

  it('a command that waits 4 minutes on the bus (the gateway did not start) alarms', () => {
    const topicId = logicalId(base.stack, base.stack.monitoring.topic.node.defaultChild);
    const queueId = logicalId(base.stack, base.stack.commands.queue.node.defaultChild);
    base.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 240,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topicId }],
    });
  });

  it('a gateway that stopped itself when idle (exit code 0) is not reported as a crash', () => {
    base.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        detail: Match.objectLike({
          $or: [
            { stopCode: ['TaskFailedToStart'] },
            { stopCode: ['EssentialContainerExited'], containers: { exitCode: [{ 'anything-but': 0 }] } },
            { stoppedReason: [{ prefix: 'Task failed container health checks' }] },
          ],
        }),
      }),
    });
  });
});

describe('options change the template', () => {
  it('slotLimit=N sets the counter item limit with UpdateItem, scoped to the guilds table', () => {
    assert.equal(ofType(base.resources, 'Custom::TimmybotSlotLimit').length, 0);
    const s = synth(fixture, { slotLimit: '25' });
    const [cr] = ofType(s.resources, 'Custom::TimmybotSlotLimit');
    assert.ok(cr);
    const create = joinedJson(cr[1].Properties?.Create);
    assert.deepEqual(joinedJson(cr[1].Properties?.Update), create);
    assert.equal(create.service, 'DynamoDB');
    assert.equal(create.action, 'UpdateItem');
    const key: Record<string, { S: string }> = {};
    for (const [k, v] of Object.entries(contract.slotCounter.key)) key[k] = { S: v };
    assert.deepEqual(create.parameters, {
      TableName: '<token>',
      Key: key,
      ...updateParameters(contract.slotCounter, 25),
    });
    assert.ok(isObject(create.parameters) && isObject(create.parameters.ExpressionAttributeValues));
    assert.deepEqual(create.parameters.ExpressionAttributeValues[':limit'], { N: '25' });
    const guildsId = logicalId(s.stack, s.stack.tables.guilds.table.node.defaultChild);
    s.template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: 'dynamodb:UpdateItem', Effect: 'Allow', Resource: { 'Fn::GetAtt': [guildsId, 'Arn'] } }] },
    });
  });

  it('slotLimit=unlimited removes the limit attribute', () => {
    const s = synth(fixture, { slotLimit: 'unlimited' });
    const [cr] = ofType(s.resources, 'Custom::TimmybotSlotLimit');
    const create = joinedJson(cr?.[1].Properties?.Create);
    assert.ok(isObject(create.parameters));
    assert.match(String(create.parameters.UpdateExpression), /REMOVE #limit/);
    assert.ok(!JSON.stringify(create.parameters).includes(':limit'));
  });

  it('alarmEmail subscribes the address to the alarm topic', () => {
    base.template.resourceCountIs('AWS::SNS::Subscription', 0);
    const s = synth(fixture, { alarmEmail: 'ops@example.com' });
    s.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('logRetentionDays applies to every log group, and no log group is left to Lambda', () => {
    for (const [ctx, days] of [[{}, 30], [{ logRetentionDays: '7', slotLimit: '1', privateSubnets: 'true' }, 7]] as const) {
      const s = Object.keys(ctx).length === 0 ? base : synth(fixture, ctx);
      const groups = ofType(s.resources, 'AWS::Logs::LogGroup');
      // 2 Lambdas, gateway, flow logs (+ slot-limit provider).
      assert.ok(groups.length >= 4);
      for (const [id, g] of groups) assert.equal(g.Properties?.RetentionInDays, days, id);
      assert.equal(ofType(s.resources, 'Custom::LogRetention').length, 0);
      for (const [id, fn] of ofType(s.resources, 'AWS::Lambda::Function')) {
        assert.ok(isObject(fn.Properties?.LoggingConfig) && fn.Properties.LoggingConfig.LogGroup, `${id} has no own log group`);
      }
    }
  });
});

describe('observability', () => {
  it('alarms on each Lambda error and on dead letters, to the topic', () => {
    const alarms = ofType(base.resources, 'AWS::CloudWatch::Alarm').filter(
      ([, a]) =>
        !['ApproximateAgeOfOldestMessage', 'GatewayStartOverdue', 'IdentifyBudgetExhausted'].includes(String(a.Properties?.MetricName)),
    );
    assert.equal(alarms.length, 4);
    const topicId = logicalId(base.stack, base.stack.monitoring.topic.node.defaultChild);
    for (const [, a] of alarms) {
      assert.deepEqual(a.Properties?.AlarmActions, [{ Ref: topicId }]);
      assert.equal(a.Properties?.Threshold, 1);
      assert.equal(a.Properties?.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
      assert.equal(a.Properties?.Period, 300);
    }
    const metrics = alarms.map(([, a]) => a.Properties?.MetricName).sort();
    assert.deepEqual(metrics, ['ApproximateNumberOfMessagesVisible', 'Errors', 'Errors', 'Errors']);
  });

  it('a gateway that refuses to start for its identify budget alarms through a metric filter', () => {
    const topicId = logicalId(base.stack, base.stack.monitoring.topic.node.defaultChild);
    const logsId = logicalId(base.stack, base.stack.gateway.logGroup.node.defaultChild);
    base.template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logsId },
      FilterPattern: '"identify budget exhausted"',
      MetricTransformations: [Match.objectLike({ MetricName: 'IdentifyBudgetExhausted', MetricValue: '1' })],
    });
    base.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IdentifyBudgetExhausted',
      Threshold: 1,
      AlarmActions: [{ Ref: topicId }],
    });
  });

  it('a gateway task that stops on its own notifies the topic', () => {
    const topicId = logicalId(base.stack, base.stack.monitoring.topic.node.defaultChild);
    base.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: Match.objectLike({ lastStatus: ['STOPPED'] }),
      }),
      Targets: [Match.objectLike({ Arn: { Ref: topicId } })],
    });
  });

  it('the topic refuses non-TLS publishing', () => {
    base.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('the dashboard graphs the contract metrics in the contract namespace', () => {
    const [dash] = ofType(base.resources, 'AWS::CloudWatch::Dashboard');
    assert.equal(dash?.[1].Properties?.DashboardName, 'Timmybot');
    const body = JSON.stringify(dash?.[1].Properties?.DashboardBody);
    const m = contract.metrics;
    for (const name of [m.interactions.latency, m.interactions.errors, m.interactions.count, m.gateway.players, m.gateway.framesSent, m.gateway.framesNulled, m.gateway.frameDeficit, m.gateway.commands, m.gateway.commandErrors]) {
      assert.ok(body.includes(`\\"${m.namespace}\\",\\"${name}\\",\\"${m.serviceDimension}\\"`), name);
    }
    for (const name of ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', 'Errors', 'Duration']) {
      assert.ok(body.includes(name), name);
    }
    assert.ok(body.includes('p99') && body.includes('p50'));
  });
});

describe('stack-wide', () => {
  it('is environment-agnostic', () => {
    assert.equal(base.stack.environment, 'aws://unknown-account/unknown-region');
  });

  it('tags every taggable resource project=timmybot', () => {
    const taggable = Object.entries(base.resources).filter(([, r]) => r.Properties && 'Tags' in r.Properties);
    assert.ok(taggable.length > 10);
    for (const [id, r] of taggable) {
      const tags = r.Properties?.Tags;
      const hasTag = Array.isArray(tags)
        ? tags.some((t) => isObject(t) && t.Key === 'project' && t.Value === 'timmybot')
        : isObject(tags) && tags.project === 'timmybot';
      assert.ok(hasTag, `${id} is not tagged`);
    }
  });

  it('has the documented outputs', () => {
    const outputs = Object.keys(base.template.toJSON().Outputs as Record<string, unknown>).sort();
    assert.deepEqual(outputs, [
      'AlarmTopicArn',
      'AllowlistAdminFunctionArn',
      'AllowlistAdminUrl',
      'AppSecretArn',
      'ClusterName',
      'CommandQueueName',
      'CommandQueueUrl',
      'DeadLetterQueueName',
      'GuildQueuesTableName',
      'GuildsTableName',
      'InteractionsEndpointUrl',
      'ServiceName',
      'TrackCacheTableName',
      'UsersTableName',
    ]);
  });

  it('stackName names the stack and the dashboard', () => {
    const s = synth(fixture, { stackName: 'Timmybot-staging' });
    assert.equal(s.stack.stackName, 'Timmybot-staging');
    s.template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'Timmybot-staging' });
  });
});
