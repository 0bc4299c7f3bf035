#!/usr/bin/env node
// The CDK app: one stack, configured from cdk.json's context (override any
// value with `cdk synth -c key=value`).
const fs = require('fs');
const path = require('path');
const cdk = require('aws-cdk-lib');
const { BulwarkPipelineStack } = require('../lib/bulwark-pipeline-stack');

const app = new cdk.App();
const ctx = (k) => {
  const v = app.node.tryGetContext(k);
  if (v === undefined || v === '') {
    throw new Error(`context value ${k} is not set: add it to cdk.json or pass -c ${k}=...`);
  }
  return v;
};

const keyFile = path.resolve(__dirname, '..', ctx('releaseKeyFile'));
if (!fs.existsSync(keyFile)) {
  throw new Error(`bulwark's release public key ${keyFile} is missing: save the release.pub published with the release there (see README.md)`);
}

new BulwarkPipelineStack(app, 'BulwarkPipeline', {
  repositoryName: ctx('repositoryName'),
  sourceRepo: ctx('sourceRepo'),
  sourceBranch: ctx('sourceBranch'),
  connectionArn: ctx('connectionArn'),
  ecsCluster: ctx('ecsCluster'),
  ecsService: ctx('ecsService'),
  bulwarkVersion: ctx('bulwarkVersion'),
  bulwarkReleaseUrl: ctx('bulwarkReleaseUrl'),
  releaseKey: fs.readFileSync(keyFile, 'utf8'),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
