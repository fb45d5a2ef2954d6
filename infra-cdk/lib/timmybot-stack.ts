// The whole deployment in one environment-agnostic stack: the Lambdas answer
// Discord's HTTP interactions and the admin API, the gateway task plays audio,
// and they share the tables, the command bus and the secrets.

import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { CommandQueue } from './command-queue';
import { assertComponentReads, componentEnvironment, DeployContract, EnvNames, ENV_VALUES } from './contract';
import { GatewayImageSource, GatewayService, IMAGE_YTDLP_PATH } from './gateway';
import { Monitoring } from './monitoring';
import type { TimmybotOptions } from './options';
import { RustFunction } from './rust-function';
import { APP_SECRET_ENTRIES, BotSecrets } from './secrets';
import { SlotLimitSetting } from './slot-limit';
import { StartCheck } from './start-check';
import { Tables } from './tables';

export interface TimmybotStackProps extends StackProps {
  readonly options: TimmybotOptions;
  readonly contract: DeployContract;
  readonly envNames: EnvNames;
  /** The Docker build context (the repository root). */
  readonly repoRoot: string;
}

export class TimmybotStack extends Stack {
  readonly tables: Tables;
  readonly secrets: BotSecrets;
  readonly commands: CommandQueue;
  readonly interactions: RustFunction;
  readonly allowlistAdmin: RustFunction;
  /** Scale to zero's start check (absent when scale-to-zero is off). */
  readonly startCheck?: StartCheck;
  readonly gateway: GatewayService;
  readonly monitoring: Monitoring;
  readonly slotLimit?: SlotLimitSetting;

  constructor(scope: Construct, id: string, props: TimmybotStackProps) {
    super(scope, id, { ...props, description: 'timmybot: Discord music bot (Lambdas, Fargate gateway, DynamoDB, SQS)' });
    const { options, contract } = props;
    const env = props.envNames;
    const artifacts = contract.artifacts;

    this.tables = new Tables(this, 'Tables', contract, options.deletionProtection);
    this.secrets = new BotSecrets(this, 'Secrets', { spotify: options.spotify });
    this.commands = new CommandQueue(this, 'Commands', contract);
    const guilds = this.tables.guilds;
    const guildQueues = this.tables.guildQueues;
    const trackCache = this.tables.trackCache;
    const users = this.tables.users;

    // Allowlist settings every component reads the same way.
    const allowlist = {
      [env.allowlistMode]: options.allowlistMode,
      [env.maintainerIds]: options.maintainerIds.length > 0 ? options.maintainerIds.join(',') : undefined,
      [env.maintainersChannelId]: options.maintainersChannelId,
    };

    // The gateway's cluster and service, named up front: with scale-to-zero
    // the interactions Lambda starts this service and the task stops it, and
    // both are allowed exactly this service's ARN, built from the names (a
    // reference to the service resource would be a cycle: the service's
    // environment refers to the Lambda's URL).
    const gatewayClusterName = `${this.stackName}-gateway`;
    const gatewayServiceName = `${this.stackName}-gateway`;
    const scale = options.scaleToZero
      ? { [env.gatewayCluster]: gatewayClusterName, [env.gatewayService]: gatewayServiceName }
      : {};
    // Each start sets a check at its deadline; the check tells the members
    // still waiting when the task is late.
    this.startCheck = options.scaleToZero
      ? new StartCheck(this, 'StartCheck', {
          assetsDir: options.lambdaAssetsDir,
          binaryName: artifacts.lambdas.startCheck,
          logRetention: options.logRetentionDays,
          reservedConcurrentExecutions: options.lambdaReservedConcurrency,
          environment: (queue) =>
            componentEnvironment(contract, 'startCheck', {
              [env.tableGuildQueues]: guildQueues.table.tableName,
              ...scale,
              [env.startCheckQueueUrl]: queue.queueUrl,
            }),
        })
      : undefined;

    // --- interactions Lambda: Discord POSTs every slash command here --------
    this.interactions = new RustFunction(this, 'Interactions', {
      assetsDir: options.lambdaAssetsDir,
      binaryName: artifacts.lambdas.interactions,
      description: 'timmybot: Discord interactions endpoint',
      memorySize: 256,
      // Discord wants an answer within 3 s; the code has its own, shorter
      // timeouts, this one only stops a hung invocation.
      timeout: Duration.seconds(10),
      logRetention: options.logRetentionDays,
      reservedConcurrentExecutions: options.lambdaReservedConcurrency,
      environment: componentEnvironment(contract, 'interactions', {
        [env.discordApplicationId]: options.discordApplicationId,
        // The secret's ARN, not a value: the public key and the bot token
        // are its entries, read once per cold start.
        [env.appSecret]: this.secrets.app.secretArn,
        [env.commandQueueUrl]: this.commands.queue.queueUrl,
        [env.tableGuilds]: guilds.table.tableName,
        [env.tableGuildQueues]: guildQueues.table.tableName,
        [env.tableTrackCache]: trackCache.table.tableName,
        [env.tableUsers]: users.table.tableName,
        ...allowlist,
        ...scale,
        [env.startCheckQueueUrl]: this.startCheck?.queue.queueUrl,
      }),
    });
    // Public: Discord signs each request with Ed25519 and the code verifies it.
    const interactionsUrl = this.interactions.addFunctionUrl(lambda.FunctionUrlAuthType.NONE);
    this.commands.queue.grant(this.interactions.role, 'sqs:SendMessage');
    // The allowlist record and the guild's settings (`kind = "settings"`,
    // written by /settings): GetItem, Query, PutItem and the rest.
    guilds.grantData(this.interactions.role);
    // /queue, /nowplaying and /history read the player; only the gateway writes it.
    guildQueues.grantItemReads(this.interactions.role);
    // Autocomplete caches search results.
    trackCache.grantCacheReadWrite(this.interactions.role);
    // /playlist save, show, delete, list and name autocomplete: members'
    // own items, read and written.
    users.grantData(this.interactions.role);
    this.secrets.app.grantRead(this.interactions.role);

    // --- allowlist-admin Lambda: the maintainers' API, SigV4 only -----------
    this.allowlistAdmin = new RustFunction(this, 'AllowlistAdmin', {
      assetsDir: options.lambdaAssetsDir,
      binaryName: artifacts.lambdas.allowlistAdmin,
      description: 'timmybot: allowlist admin API (IAM-authenticated)',
      memorySize: 256,
      timeout: Duration.seconds(15),
      logRetention: options.logRetentionDays,
      reservedConcurrentExecutions: options.lambdaReservedConcurrency,
      environment: componentEnvironment(contract, 'allowlistAdmin', {
        [env.tableGuilds]: guilds.table.tableName,
        [env.tableGuildQueues]: guildQueues.table.tableName,
        [env.appSecret]: this.secrets.app.secretArn,
        ...allowlist,
      }),
    });
    // Callers need lambda:InvokeFunctionUrl on this function (see README).
    const adminUrl = this.allowlistAdmin.addFunctionUrl(lambda.FunctionUrlAuthType.AWS_IAM);
    guilds.grantData(this.allowlistAdmin.role);
    this.secrets.app.grantRead(this.allowlistAdmin.role);

    // --- gateway service -------------------------------------------------
    const image: GatewayImageSource =
      options.gatewayImage === undefined
        ? { kind: 'build', directory: props.repoRoot, youtube: options.youtube }
        : { kind: 'registry', uri: options.gatewayImage };
    this.gateway = new GatewayService(this, 'Gateway', {
      image,
      // The image's ENTRYPOINT is the binary: drop its name from the argv.
      command: artifacts.gatewayCommand.slice(1),
      healthCommand: artifacts.gatewayHealthCommand,
      cpu: options.taskCpu,
      memoryMiB: options.taskMemory,
      desiredCount: options.gatewayDesiredCount,
      clusterName: gatewayClusterName,
      serviceName: gatewayServiceName,
      privateSubnets: options.privateSubnets,
      logRetention: options.logRetentionDays,
      environment: componentEnvironment(contract, 'gateway', {
        [env.discordApplicationId]: options.discordApplicationId,
        [env.store]: ENV_VALUES.storeDynamoDb,
        [env.tableGuilds]: guilds.table.tableName,
        [env.tableGuildQueues]: guildQueues.table.tableName,
        [env.tableTrackCache]: trackCache.table.tableName,
        [env.tableUsers]: users.table.tableName,
        [env.bus]: ENV_VALUES.busSqs,
        [env.commandQueueUrl]: this.commands.queue.queueUrl,
        // Set: Discord delivers interactions over HTTP, not on the gateway.
        [env.interactionsEndpoint]: interactionsUrl.url,
        [env.metrics]: ENV_VALUES.metricsEmf,
        [env.ytdlp]: options.youtube ? IMAGE_YTDLP_PATH : undefined,
        // The secret's ARN, not a value: the gateway reads the Spotify
        // entries from it at start (only when the template lists them).
        [env.appSecret]: this.secrets.spotify ? this.secrets.app.secretArn : undefined,
        ...allowlist,
        ...scale,
        [env.idleStopMinutes]: options.scaleToZero ? String(options.idleStopMinutes) : undefined,
      }),
      secrets: {
        // One JSON key of the application secret each (`ARN:entry::`): the
        // gateway reads DISCORD_TOKEN and DISCORD_PUBLIC_KEY from its
        // environment, as it does locally.
        [env.discordToken]: ecs.Secret.fromSecretsManager(this.secrets.app, APP_SECRET_ENTRIES.discordToken),
        [env.discordPublicKey]: ecs.Secret.fromSecretsManager(this.secrets.app, APP_SECRET_ENTRIES.discordPublicKey),
      },
    });
    // Secrets become environment variables too: same check as the rest.
    assertComponentReads(contract, 'gateway', [env.discordToken, env.discordPublicKey]);
    const taskRole = this.gateway.taskDefinition.taskRole;
    guilds.grantData(taskRole);
    guildQueues.grantData(taskRole);
    // The players cache what links and searches resolved to.
    trackCache.grantCacheReadWrite(taskRole);
    // /playlist load reads the sender's playlist; /playlist import saves
    // the playlists of an uploaded file.
    users.grantData(taskRole);
    if (this.secrets.spotify) {
      this.secrets.app.grantRead(taskRole);
    }
    this.commands.queue.grant(
      taskRole,
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:ChangeMessageVisibility',
      'sqs:GetQueueAttributes',
    );

    if (options.scaleToZero) {
      // UpdateService (desired 1 from the Lambda, 0 from the idle task) and
      // DescribeServices, on this one service and nothing else.
      const scaleThisService = new iam.PolicyStatement({
        actions: ['ecs:UpdateService', 'ecs:DescribeServices'],
        resources: [this.gateway.serviceArn],
      });
      this.interactions.role.addToPrincipalPolicy(scaleThisService);
      taskRole.addToPrincipalPolicy(scaleThisService);
      // The Lambda claims the "starting" marker (one conditional PutItem, so
      // a hundred commands start the task once) and releases it when the
      // start failed; only in the deployment's partition, no guild's items.
      guildQueues.grantDeploymentItemWrites(this.interactions.role);
      if (this.startCheck) {
        // The interactions Lambda sets a start's check; the check reads the
        // gateway's presence, takes the waiting members, asks again.
        this.startCheck.queue.grantSendMessages(this.interactions.role);
        this.startCheck.fn.role.addToPrincipalPolicy(scaleThisService);
        guildQueues.grantDeploymentItems(this.startCheck.fn.role);
      }
    }

    // --- deploy-time slot limit --------------------------------------------
    if (options.slotLimit !== undefined) {
      this.slotLimit = new SlotLimitSetting(this, 'SlotLimit', {
        table: this.tables[contract.slotCounter.table].table,
        contract,
        limit: options.slotLimit,
        logRetention: options.logRetentionDays,
      });
    }

    // --- observability ---------------------------------------------------
    this.monitoring = new Monitoring(this, 'Monitoring', {
      contract,
      dashboardName: this.stackName,
      functions: {
        Interactions: this.interactions.function,
        AllowlistAdmin: this.allowlistAdmin.function,
        ...(this.startCheck ? { StartCheck: this.startCheck.function } : {}),
      },
      commandQueue: this.commands.queue,
      deadLetterQueue: this.commands.deadLetterQueue,
      cluster: this.gateway.cluster,
      scaleToZero: options.scaleToZero,
      interactionsLogGroup: this.interactions.logGroup,
      startCheckLogGroup: this.startCheck?.fn.logGroup,
      gatewayLogGroup: this.gateway.logGroup,
      alarmEmail: options.alarmEmail,
    });

    // --- outputs ---------------------------------------------------------
    const out = (id: string, value: string, description: string): void => {
      new CfnOutput(this, id, { value, description });
    };
    out('InteractionsEndpointUrl', interactionsUrl.url, 'Set as "Interactions Endpoint URL" in the Discord developer portal');
    out('AllowlistAdminUrl', adminUrl.url, 'Admin API URL for `timmybot allowlist --sigv4`');
    out('AllowlistAdminFunctionArn', this.allowlistAdmin.function.functionArn, 'Grant maintainers lambda:InvokeFunctionUrl on this ARN');
    out('GuildsTableName', guilds.table.tableName, 'DynamoDB table: guilds and allowlist');
    out('GuildQueuesTableName', guildQueues.table.tableName, 'DynamoDB table: play queues');
    out('TrackCacheTableName', trackCache.table.tableName, 'DynamoDB table: what links and searches resolved to (a cache)');
    out('UsersTableName', this.tables.users.table.tableName, 'DynamoDB table: members\' linked accounts, partitioned by user');
    out('CommandQueueUrl', this.commands.queue.queueUrl, 'SQS FIFO command bus');
    out('CommandQueueName', this.commands.queue.queueName, 'SQS FIFO command bus');
    out('DeadLetterQueueName', this.commands.deadLetterQueue.queueName, 'Commands that failed every attempt');
    out(
      'AppSecretArn',
      this.secrets.app.secretArn,
      'put-secret-value: the application secrets, one JSON object (discord-token, discord-public-key, ...; keep token-encryption-key)',
    );
    out('AlarmTopicArn', this.monitoring.topic.topicArn, 'Subscribe here for alarms');
    out('ClusterName', this.gateway.cluster.clusterName, 'ECS cluster of the gateway');
    out('ServiceName', this.gateway.service.serviceName, 'ECS service of the gateway (scale with desired count 0/1)');
  }
}
