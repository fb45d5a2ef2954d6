// The gateway service: one long-running Fargate task (ARM64) that holds the
// Discord gateway connection, consumes the command bus and plays audio over
// UDP. Nothing connects to it, so its security group has no inbound rule.

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { ArnFormat, Duration, IgnoreMode, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Where the image puts its binaries; the ENTRYPOINT is `<dir>/<gateway binary>`. */
export const IMAGE_BIN_DIR = '/usr/local/bin';
/** Where the image puts yt-dlp when built with WITH_YTDLP=true. */
export const IMAGE_YTDLP_PATH = `${IMAGE_BIN_DIR}/yt-dlp`;
/** The Dockerfile's build argument that adds yt-dlp. */
export const YTDLP_BUILD_ARG = 'WITH_YTDLP';

/**
 * Paths of the repository never sent to the Docker build (and never copied
 * into cdk.out): build output, tools, fuzzing data, this folder. The
 * repository's own .dockerignore is added on top by CDK.
 */
export const IMAGE_EXCLUDES: readonly string[] = [
  'target',
  '.git',
  '.tools',
  'infra-cdk',
  'fuzz/target',
  'fuzz/corpus',
  'fuzz/artifacts',
  'fuzz/coverage',
  '**/node_modules',
  'data',
  '**/*.log',
];

export type GatewayImageSource =
  /** Build the repository's Dockerfile (needs Docker at deploy time). */
  | { readonly kind: 'build'; readonly directory: string; readonly youtube: boolean }
  /** Run an image that already exists in a registry. */
  | { readonly kind: 'registry'; readonly uri: string };

export interface GatewayServiceProps {
  readonly image: GatewayImageSource;
  /** argv after the ENTRYPOINT binary (the contract's gatewayCommand minus its binary). */
  readonly command: readonly string[];
  /** argv of the health check, binary name first (the contract's gatewayHealthCommand). */
  readonly healthCommand: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, ecs.Secret>>;
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly desiredCount: 0 | 1;
  /**
   * Physical names of the cluster and the service. Fixed (not generated) so
   * the service's ARN is known without referring to the service resource:
   * the interactions Lambda (which the gateway's environment refers to
   * through its URL) is allowed to update exactly this service, and a
   * reference the other way would be a dependency cycle.
   */
  readonly clusterName: string;
  readonly serviceName: string;
  readonly privateSubnets: boolean;
  readonly logRetention: logs.RetentionDays;
}

export class GatewayService extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: ecs.Cluster;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly service: ecs.FargateService;
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.LogGroup;
  /** `arn:…:ecs:<region>:<account>:service/<cluster>/<service>`, built from the names alone. */
  readonly serviceArn: string;

  constructor(scope: Construct, id: string, props: GatewayServiceProps) {
    super(scope, id);

    // Default: public subnets only and a public IP on the task, so there is
    // no NAT gateway to pay for (~$33/month). The security group still admits
    // nothing inbound. privateSubnets=true buys a NAT gateway to keep the
    // task off the internet's address space.
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: props.privateSubnets ? 1 : 0,
      subnetConfiguration: props.privateSubnets
        ? [
            { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
            { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
          ]
        : [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
      // Nothing is placed in the default security group; restricting it
      // would add a custom-resource Lambda to every deploy for no gain.
      restrictDefaultSecurityGroup: false,
    });
    // Rejected packets only: the task accepts nothing inbound, so this is
    // the record of who knocked, at a few MB a month.
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: props.logRetention });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      clusterName: props.clusterName,
      containerInsightsV2: ecs.ContainerInsights.DISABLED,
    });
    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions-ECS4',
      reason:
        'Container Insights is off for cost: one task does not need per-task metrics at its price; the gateway ' +
        'publishes its own EMF metrics (players, frame deficit, commands) and ECS publishes service CPU/memory.',
    });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention });

    const healthBinary = props.healthCommand[0];
    if (healthBinary === undefined) throw new Error('the gateway health command is empty');
    this.taskDefinition.addContainer('gateway', {
      image: containerImage(props.image),
      // The image's ENTRYPOINT is the binary; the command holds its arguments.
      command: [...props.command],
      healthCheck: {
        // Exec form: no shell in the image is needed.
        command: ['CMD', path.posix.join(IMAGE_BIN_DIR, healthBinary), ...props.healthCommand.slice(1)],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        // Connecting every shard and loading state takes a moment.
        startPeriod: Duration.seconds(60),
      },
      environment: { ...props.environment },
      secrets: { ...props.secrets },
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'gateway' }),
      // Shutdown drains commands (10 s grace) and leaves voice calls.
      stopTimeout: Duration.seconds(30),
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The plain environment holds only non-secret configuration (table names, queue URL, backend switches, ' +
        'Discord ids); the bot token and public key are injected from Secrets Manager as ECS secrets.',
    });

    const executionRole = this.taskDefinition.executionRole;
    if (props.image.kind === 'build' && executionRole !== undefined) {
      Validations.of(executionRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken (added by CDK to pull the built image) has no resource-level permissions: ' +
          'AWS requires Resource "*". The pull actions themselves are scoped to the asset repository.',
      });
    }

    // Discord voice is UDP to hosts chosen at connect time: outbound must be
    // open. Inbound stays empty; the service has no listener.
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: 'timmybot gateway: no inbound, all outbound (Discord gateway, REST, voice UDP)',
      allowAllOutbound: true,
    });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      serviceName: props.serviceName,
      desiredCount: props.desiredCount,
      // Never two gateways at once: both would consume the bus and join the
      // same voice channels. A deploy stops the old task before starting the
      // new one (a short gap in playback).
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      circuitBreaker: { enable: true, rollback: true },
      assignPublicIp: !props.privateSubnets,
      vpcSubnets: { subnetType: props.privateSubnets ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PUBLIC },
      securityGroups: [this.securityGroup],
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });
    this.serviceArn = Stack.of(this).formatArn({
      service: 'ecs',
      resource: 'service',
      resourceName: `${props.clusterName}/${props.serviceName}`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }
}

function containerImage(source: GatewayImageSource): ecs.ContainerImage {
  if (source.kind === 'registry') return ecs.ContainerImage.fromRegistry(source.uri);
  const dockerfile = path.join(source.directory, 'Dockerfile');
  if (!existsSync(dockerfile)) {
    throw new Error(
      `No Dockerfile at ${dockerfile} to build the gateway image from. ` +
        'Add it, or run an existing image with -c gatewayImage=<image uri>.',
    );
  }
  return ecs.ContainerImage.fromAsset(source.directory, {
    file: 'Dockerfile',
    platform: Platform.LINUX_ARM64,
    buildArgs: { [YTDLP_BUILD_ARG]: source.youtube ? 'true' : 'false' },
    exclude: [...IMAGE_EXCLUDES],
    ignoreMode: IgnoreMode.DOCKER,
  });
}
