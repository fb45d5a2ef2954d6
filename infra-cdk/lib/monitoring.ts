// Alarms, the alarm topic and the dashboard. Application metric names come
// from the deploy contract (the Rust code emits them as CloudWatch EMF).

import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { DeployContract } from './contract';

export interface MonitoringProps {
  readonly contract: DeployContract;
  readonly dashboardName: string;
  /** Lambdas by display name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly commandQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly cluster: ecs.ICluster;
  /** The gateway starts on demand: alarm when a command waits longer than a start takes. */
  readonly scaleToZero: boolean;
  /** Where the interactions Lambda logs: the "start overdue" line is counted there. */
  readonly interactionsLogGroup: logs.ILogGroup;
  /** The start-check Lambda's logs, which say when a start is late (scale to zero). */
  readonly startCheckLogGroup?: logs.ILogGroup;
  /** Where the gateway task logs: the "identify budget exhausted" line is counted there. */
  readonly gatewayLogGroup: logs.ILogGroup;
  readonly alarmEmail?: string;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * A task died on its own when it never started (TaskFailedToStart) or its
 * essential container exited with a non-zero code (EssentialContainerExited;
 * the idle stop exits with 0). Deployments and scale-in stop tasks with
 * ServiceSchedulerInitiated and `aws ecs stop-task` with UserInitiated, so
 * those are not matched by code, except a task the scheduler killed for
 * failing its health check, matched by its reason:
 */
export const HEALTH_CHECK_STOP_REASON = 'Task failed container health checks';
/**
 * How old the oldest waiting command may get before the "gateway did not
 * start" alarm fires: a cold start takes 30-90 s, and the interactions Lambda
 * tells the member after 3 minutes; a command still waiting at 4 means the
 * task did not come up (or stopped consuming).
 */
export const COMMAND_WAIT_ALARM_SECONDS = 240;
/**
 * The term the interactions and start-check Lambdas log (as
 * `alarm="GatewayStartOverdue"`) when the gateway is still not up past a
 * start's deadline (interactions/src/scale_to_zero.rs); metric filters on
 * both log groups count it.
 */
export const START_OVERDUE_LOG_TERM = 'GatewayStartOverdue';
/**
 * The phrase the gateway logs at error level when it refuses to start so as
 * not to spend Discord's daily session starts (gateway-service/src/gateway_start.rs).
 */
export const IDENTIFY_BUDGET_LOG_PHRASE = 'identify budget exhausted';
/** The metric its filter counts. */
export const IDENTIFY_BUDGET_METRIC = 'IdentifyBudgetExhausted';

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly taskStoppedRule: events.Rule;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const m = props.contract.metrics;

    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'timmybot alarms', enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry no secrets or user data (alarm names and ECS task states). Encrypting them ' +
        'needs a customer-managed KMS key that CloudWatch and EventBridge may use ($1/month, more than the rest ' +
        'of the idle stack); the AWS-managed SNS key does not allow those services.',
    });
    if (props.alarmEmail !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    const notify = new cwActions.SnsAction(this.topic);

    const alarm = (id: string, metric: cloudwatch.IMetric, description: string): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, id, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No data means no invocations / no messages: healthy.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(notify);
      return created;
    };

    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(`${name}Errors`, fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }), `The ${name} Lambda failed at least once in 5 minutes.`);
    }
    alarm(
      'DeadLetters',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' }),
      'A command failed every delivery attempt and sits in the dead-letter queue.',
    );

    if (props.scaleToZero) {
      const waiting = new cloudwatch.Alarm(this, 'GatewayDidNotStart', {
        metric: props.commandQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: COMMAND_WAIT_ALARM_SECONDS,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // An empty queue publishes nothing: healthy.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription:
          `A command has waited ${COMMAND_WAIT_ALARM_SECONDS} s on the bus: the gateway did not start ` +
          '(ECS UpdateService from the interactions Lambda) or stopped taking commands.',
      });
      waiting.addAlarmAction(notify);

      const overdue = new logs.MetricFilter(this, 'GatewayStartOverdueFilter', {
        logGroup: props.interactionsLogGroup,
        filterPattern: logs.FilterPattern.anyTerm(START_OVERDUE_LOG_TERM),
        metricNamespace: m.namespace,
        metricName: START_OVERDUE_LOG_TERM,
        metricValue: '1',
      });
      if (props.startCheckLogGroup) {
        // The same metric: the check logs the line at the deadline even
        // when no member sends another command.
        new logs.MetricFilter(this, 'GatewayStartOverdueCheckFilter', {
          logGroup: props.startCheckLogGroup,
          filterPattern: logs.FilterPattern.anyTerm(START_OVERDUE_LOG_TERM),
          metricNamespace: m.namespace,
          metricName: START_OVERDUE_LOG_TERM,
          metricValue: '1',
        });
      }
      alarm(
        'GatewayStartOverdue',
        overdue.metric({ period: FIVE_MINUTES, statistic: 'Sum' }),
        'The gateway was still not running at a start\'s deadline (3 minutes), found by the start check or by a ' +
          'member\'s next command: the task did not start (ECS UpdateService); the commands wait on the bus.',
      );
    }

    // A crash loop must not spend the day's session starts: the gateway
    // refuses to start when few are left, and says so in one log line.
    const budget = new logs.MetricFilter(this, 'IdentifyBudgetFilter', {
      logGroup: props.gatewayLogGroup,
      filterPattern: logs.FilterPattern.literal(`"${IDENTIFY_BUDGET_LOG_PHRASE}"`),
      metricNamespace: m.namespace,
      metricName: IDENTIFY_BUDGET_METRIC,
      metricValue: '1',
    });
    alarm(
      'IdentifyBudgetExhausted',
      budget.metric({ period: FIVE_MINUTES, statistic: 'Sum' }),
      'The gateway refused to start: few of Discord\'s daily session starts (identifies) are left, or it ' +
        'identified too often in the last hour (a crash loop). Its log line says how many are left and when they reset.',
    );

    // A stopped task has no metric of its own to alarm on without Container
    // Insights; ECS emits an event for every task state change instead.
    this.taskStoppedRule = new events.Rule(this, 'GatewayTaskStopped', {
      description: 'The gateway task stopped on its own (crash, failed start, failed health check)',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          clusterArn: [props.cluster.clusterArn],
          lastStatus: ['STOPPED'],
          // A gateway that stopped itself when idle exits with 0 after
          // setting its desired count to 0: not a crash.
          $or: [
            { stopCode: ['TaskFailedToStart'] },
            { stopCode: ['EssentialContainerExited'], containers: { exitCode: [{ 'anything-but': 0 }] } },
            { stoppedReason: [{ prefix: HEALTH_CHECK_STOP_REASON }] },
          ],
        },
      },
      targets: [
        new targets.SnsTopic(this.topic, {
          message: events.RuleTargetInput.fromText(
            `timmybot gateway task stopped unexpectedly: ${events.EventField.fromPath('$.detail.stoppedReason')} ` +
              `(stop code ${events.EventField.fromPath('$.detail.stopCode')}, task ${events.EventField.fromPath('$.detail.taskArn')})`,
          ),
        }),
      ],
    });

    // --- dashboard ---------------------------------------------------------
    const app = (service: string, metricName: string, statistic: string, label?: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: m.namespace,
        metricName,
        dimensionsMap: { [m.serviceDimension]: service },
        statistic,
        period: FIVE_MINUTES,
        label,
      });
    const i = m.interactions;
    const g = m.gateway;
    const fns = Object.entries(props.functions);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Interaction latency (ms)',
            left: [app(i.service, i.latency, 'p50', 'p50'), app(i.service, i.latency, 'p99', 'p99')],
          }),
          new cloudwatch.GraphWidget({
            title: 'Interactions and errors',
            left: [app(i.service, i.count, 'Sum', 'interactions')],
            right: [app(i.service, i.errors, 'Sum', 'errors')],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Lambda errors',
            left: fns.map(([name, fn]) => fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum', label: name })),
          }),
          new cloudwatch.GraphWidget({
            title: 'Lambda duration p99 (ms)',
            left: fns.map(([name, fn]) => fn.metricDuration({ period: FIVE_MINUTES, statistic: 'p99', label: name })),
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Command bus',
            left: [props.commandQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum', label: 'depth' })],
            right: [props.commandQueue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: 'Maximum', label: 'oldest (s)' })],
          }),
          new cloudwatch.GraphWidget({
            title: 'Dead-letter queue depth',
            left: [props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum', label: 'dead letters' })],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Gateway players',
            left: [app(g.service, g.players, 'Maximum', 'active players')],
          }),
          new cloudwatch.GraphWidget({
            title: 'Audio frames (20 ms): sent, nulled, deficit',
            left: [app(g.service, g.framesSent, 'Sum', 'sent')],
            right: [app(g.service, g.framesNulled, 'Sum', 'nulled (audio not ready)'), app(g.service, g.frameDeficit, 'Sum', 'deficit (behind real time)')],
          }),
          new cloudwatch.GraphWidget({
            title: 'Commands processed / errors',
            left: [app(g.service, g.commands, 'Sum', 'processed')],
            right: [app(g.service, g.commandErrors, 'Sum', 'errors')],
          }),
        ],
      ],
    });
  }
}
