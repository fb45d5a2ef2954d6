#!/usr/bin/env node
// Entry point for the CDK CLI (see cdk.json). Options come from context:
//   npx cdk synth -c discordApplicationId=123456789012345678 [-c key=value ...]
// The list of options is in README.md and lib/options.ts.

import { App } from 'aws-cdk-lib';
import { buildTimmybotApp } from '../lib/app';

const app = new App();
buildTimmybotApp(app);
app.synth();
