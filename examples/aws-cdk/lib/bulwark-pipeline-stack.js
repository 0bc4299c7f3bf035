// The reference container delivery pipeline, with bulwark as its security
// gate: an ECR repository with immutable tags, an asymmetric KMS key that
// signs images, a CodeBuild project that builds, gates, pushes and signs
// (`bulwark pipeline run`), a second that verifies the signature and the
// vulnerability attestation before it deploys to ECS (`bulwark verify`), and
// a CodePipeline that joins them.
const { Stack, CfnOutput, RemovalPolicy, Duration } = require('aws-cdk-lib');
const ecr = require('aws-cdk-lib/aws-ecr');
const kms = require('aws-cdk-lib/aws-kms');
const iam = require('aws-cdk-lib/aws-iam');
const codebuild = require('aws-cdk-lib/aws-codebuild');
const codepipeline = require('aws-cdk-lib/aws-codepipeline');
const actions = require('aws-cdk-lib/aws-codepipeline-actions');

const signingAlias = 'alias/bulwark-signing';

// installBulwark downloads the released linux/amd64 binary and checks its
// signature against the release key pinned in this stack (never against a
// key downloaded beside the binary) before it is run: openssl checks the
// cosign-format signature, so nothing from the release is trusted first.
function installBulwark() {
  return [
    'curl -fsSL -o /tmp/bulwark "$BULWARK_RELEASE_URL/$BULWARK_VERSION/bulwark-linux-amd64"',
    'curl -fsSL -o /tmp/bulwark.sig "$BULWARK_RELEASE_URL/$BULWARK_VERSION/bulwark-linux-amd64.sig"',
    'printf "%s\\n" "$BULWARK_RELEASE_KEY" > /tmp/release.pub',
    'base64 -d /tmp/bulwark.sig > /tmp/bulwark.sig.der',
    'openssl dgst -sha256 -verify /tmp/release.pub -signature /tmp/bulwark.sig.der /tmp/bulwark',
    'install -m 0755 /tmp/bulwark /usr/local/bin/bulwark',
    'bulwark version',
  ];
}

class BulwarkPipelineStack extends Stack {
  constructor(scope, id, props) {
    super(scope, id, props);

    const repository = new ecr.Repository(this, 'Repository', {
      repositoryName: props.repositoryName,
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      // bulwark scans every image before it is pushed.
      imageScanOnPush: false,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const signingKey = new kms.Key(this, 'SigningKey', {
      description: 'bulwark image signing key (cosign-compatible ECDSA P-256)',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      alias: signingAlias,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const common = {
      BULWARK_VERSION: { value: props.bulwarkVersion },
      BULWARK_RELEASE_URL: { value: props.bulwarkReleaseUrl },
      BULWARK_RELEASE_KEY: { value: props.releaseKey.trim() },
      REPOSITORY_URI: { value: repository.repositoryUri },
      SIGNING_KEY: { value: `awskms:///${signingAlias}` },
    };
    const environment = {
      buildImage: codebuild.LinuxBuildImage.STANDARD_7_0,
      computeType: codebuild.ComputeType.MEDIUM,
      // buildah runs rootless-style with the vfs driver and chroot isolation.
      privileged: false,
    };

    // Build, gate, push by digest, sign, verify, tag: bulwark.yaml in the
    // application repository names REPOSITORY_URI and SIGNING_KEY (printed by
    // `cdk deploy` as outputs) in push.repository and sign.key.
    const build = new codebuild.PipelineProject(this, 'BuildScanSign', {
      description: 'bulwark pipeline run: secrets, build, scan, push by digest, sign (KMS), verify, tag',
      environment,
      environmentVariables: common,
      timeout: Duration.minutes(30),
      cache: codebuild.Cache.local(codebuild.LocalCacheMode.CUSTOM),
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        env: {
          variables: { BULWARK_CACHE_DIR: '/root/.cache/bulwark', STORAGE_DRIVER: 'vfs', BUILDAH_ISOLATION: 'chroot' },
          'exported-variables': ['BULWARK_IMAGE'],
        },
        phases: {
          install: {
            commands: [...installBulwark(), 'apt-get update -qq && apt-get install -y -qq buildah'],
          },
          pre_build: {
            commands: [
              'aws ecr get-login-password | docker login -u AWS --password-stdin "${REPOSITORY_URI%%/*}"',
              // The vulnerability database comes from the cache, else from bulwark's default repository.
              'bulwark db update --if-older-than 24h',
            ],
          },
          build: {
            commands: [
              'bulwark pipeline run --file bulwark.yaml',
              'export BULWARK_IMAGE="$(cat bulwark-artifacts/digest)"',
            ],
          },
        },
        reports: {
          bulwark: { files: ['junit.xml'], 'base-directory': 'bulwark-artifacts', 'file-format': 'JUNITXML' },
        },
        artifacts: { 'base-directory': 'bulwark-artifacts', files: ['**/*'] },
        cache: { paths: ['/root/.cache/bulwark/**/*'] },
      }),
    });
    repository.grantPullPush(build);
    signingKey.grant(build, 'kms:Sign', 'kms:GetPublicKey', 'kms:DescribeKey');

    // Verify, then deploy: only the digest the build pushed, only when its
    // signature and a fresh vulnerability attestation verify with the KMS
    // public key.
    const deploy = new codebuild.PipelineProject(this, 'VerifyDeploy', {
      description: 'bulwark verify + verify-attestation, then ECS deploy of the verified digest',
      environment,
      environmentVariables: {
        ...common,
        ECS_CLUSTER: { value: props.ecsCluster },
        ECS_SERVICE: { value: props.ecsService },
      },
      timeout: Duration.minutes(20),
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        phases: {
          install: { commands: installBulwark() },
          pre_build: {
            commands: ['aws ecr get-login-password | docker login -u AWS --password-stdin "${REPOSITORY_URI%%/*}"'],
          },
          build: {
            commands: [
              'IMAGE="$(cat "$CODEBUILD_SRC_DIR_BuildOutput/digest")"',
              'bulwark verify --key "$SIGNING_KEY" "$IMAGE"',
              'bulwark verify-attestation --key "$SIGNING_KEY" --type vuln "$IMAGE"',
              'TASKDEF="$(aws ecs describe-services --cluster "$ECS_CLUSTER" --services "$ECS_SERVICE" --query "services[0].taskDefinition" --output text)"',
              'aws ecs describe-task-definition --task-definition "$TASKDEF" --query taskDefinition > taskdef.json',
              'jq --arg img "$IMAGE" \'.containerDefinitions[0].image = $img | del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities, .registeredAt, .registeredBy)\' taskdef.json > new-taskdef.json',
              'NEW="$(aws ecs register-task-definition --cli-input-json file://new-taskdef.json --query taskDefinition.taskDefinitionArn --output text)"',
              'aws ecs update-service --cluster "$ECS_CLUSTER" --service "$ECS_SERVICE" --task-definition "$NEW"',
            ],
          },
        },
      }),
    });
    repository.grantPull(deploy);
    signingKey.grant(deploy, 'kms:GetPublicKey', 'kms:DescribeKey');
    deploy.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ecs:DescribeServices', 'ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition', 'ecs:UpdateService'],
      resources: ['*'],
    }));
    deploy.addToRolePolicy(new iam.PolicyStatement({
      actions: ['iam:PassRole'],
      resources: ['*'],
      conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    }));

    const source = new codepipeline.Artifact('Source');
    const buildOutput = new codepipeline.Artifact('BuildOutput');
    const [owner, repo] = props.sourceRepo.split('/');
    new codepipeline.Pipeline(this, 'Pipeline', {
      pipelineType: codepipeline.PipelineType.V2,
      stages: [
        {
          stageName: 'Source',
          actions: [new actions.CodeStarConnectionsSourceAction({
            actionName: 'Source', owner, repo, branch: props.sourceBranch,
            connectionArn: props.connectionArn, output: source,
          })],
        },
        {
          stageName: 'BuildScanSign',
          actions: [new actions.CodeBuildAction({ actionName: 'bulwark-pipeline', project: build, input: source, outputs: [buildOutput] })],
        },
        {
          stageName: 'VerifyDeploy',
          actions: [new actions.CodeBuildAction({
            actionName: 'bulwark-verify-deploy', project: deploy, input: source, extraInputs: [buildOutput],
          })],
        },
      ],
    });

    new CfnOutput(this, 'RepositoryUri', { value: repository.repositoryUri, description: 'push.repository in bulwark.yaml' });
    new CfnOutput(this, 'SigningKeyUri', { value: `awskms:///${signingAlias}`, description: 'sign.key and verify.key in bulwark.yaml' });
  }
}

module.exports = { BulwarkPipelineStack };
