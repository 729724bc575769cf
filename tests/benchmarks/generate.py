"""Deterministic, realistic corpora for benchmarks. `mixed`: Terraform directories where EKS
and IAM resources sit among VPCs, subnets, buckets and databases, multi-document manifests,
aws-auth ConfigMaps and trust-policy JSON. `cloudformation`: CloudFormation stacks in YAML
(short-form tags, parameters, conditions, mappings) where EKS clusters, launch templates,
node groups, access entries and IAM roles sit among networks, buckets, functions and SSM
parameters, and CDK-style JSON templates (one key per line). `monorepo`: many environment
directories that each hold the same clusters, access entries, roles, ServiceAccounts and
bindings by name. And a Kustomize tree
(`generate_kustomize`): apps with a base, three overlays each (namespace, prefix, a patch
file, an inline JSON 6902 patch) and a component they share.

    python tests/benchmarks/generate.py OUT_DIR N_FILES [mixed|cloudformation|monorepo]
    python tests/benchmarks/generate.py --kustomize OUT_DIR N_APPS
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

NOISE = [
    'resource "aws_vpc" "{n}" {{\n  cidr_block           = "10.{a}.0.0/16"\n  enable_dns_support   = true\n'
    '  enable_dns_hostnames = true\n  tags = {{\n    Name        = "vpc-{n}"\n    Environment = var.env\n  }}\n}}\n',
    'resource "aws_subnet" "{n}" {{\n  vpc_id            = aws_vpc.{n}.id\n  cidr_block        = "10.{a}.{b}.0/24"\n'
    '  availability_zone = "eu-west-1a"\n  tags = {{ Name = "subnet-{n}" }}\n}}\n',
    'resource "aws_s3_bucket" "{n}" {{\n  bucket = "acme-{n}-logs"\n  tags   = local.tags\n}}\n\n'
    'resource "aws_s3_bucket_versioning" "{n}" {{\n  bucket = aws_s3_bucket.{n}.id\n  versioning_configuration {{\n'
    '    status = "Enabled"\n  }}\n}}\n',
    'resource "aws_db_instance" "{n}" {{\n  identifier        = "db-{n}"\n  engine            = "postgres"\n'
    '  engine_version    = "16.3"\n  instance_class    = "db.t4g.medium"\n  allocated_storage = 50\n'
    '  username          = "app"\n  manage_master_user_password = true\n  skip_final_snapshot = false\n}}\n',
    'resource "aws_security_group" "{n}" {{\n  name   = "sg-{n}"\n  vpc_id = aws_vpc.{n}.id\n'
    '  ingress {{\n    from_port   = 443\n    to_port     = 443\n    protocol    = "tcp"\n'
    '    cidr_blocks = ["10.0.0.0/8"]\n  }}\n  egress {{\n    from_port   = 0\n    to_port     = 0\n'
    '    protocol    = "-1"\n    cidr_blocks = ["0.0.0.0/0"]\n  }}\n}}\n',
]

EKS = (
    'resource "aws_eks_cluster" "{n}" {{\n  name     = "cluster-{n}"\n  role_arn = aws_iam_role.{n}.arn\n'
    '  vpc_config {{\n    subnet_ids             = ["subnet-1", "subnet-2"]\n    endpoint_public_access = {pub}\n'
    "  }}\n  enabled_cluster_log_types = {logs}\n}}\n\n"
    'resource "aws_iam_role" "{n}" {{\n  name = "role-{n}"\n  assume_role_policy = jsonencode({{\n'
    '    Version = "2012-10-17"\n    Statement = [{{\n      Effect    = "Allow"\n'
    '      Principal = {{ Service = "eks.amazonaws.com" }}\n      Action    = "sts:AssumeRole"\n    }}]\n  }})\n}}\n\n'
    'resource "aws_launch_template" "{n}" {{\n  name_prefix = "nodes-{n}-"\n  metadata_options {{\n'
    '    http_tokens                 = "{tokens}"\n    http_put_response_hop_limit = {hops}\n  }}\n}}\n'
)

IRSA = (
    'data "aws_iam_policy_document" "{n}" {{\n  statement {{\n    actions = ["sts:AssumeRoleWithWebIdentity"]\n'
    '    principals {{\n      type        = "Federated"\n      identifiers = ["arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/{n}"]\n'
    '    }}\n    condition {{\n      test     = "{test}"\n      variable = "oidc.eks.eu-west-1.amazonaws.com/id/{n}:sub"\n'
    '      values   = ["system:serviceaccount:{ns}:{sa}"]\n    }}\n  }}\n}}\n\n'
    'resource "aws_iam_role" "irsa_{n}" {{\n  name               = "irsa-{n}"\n'
    "  assume_role_policy = data.aws_iam_policy_document.{n}.json\n}}\n"
)

MANIFEST = (
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {sa}\n  namespace: {ns}\n  annotations:\n"
    "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/irsa-{n}\n---\n"
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{n}\n  namespace: {ns}\nspec:\n"
    "  replicas: 2\n  selector:\n    matchLabels: {{app: app-{n}}}\n  template:\n    metadata:\n"
    "      labels: {{app: app-{n}}}\n    spec:\n      serviceAccountName: {sa}\n      containers:\n"
    "        - name: app\n          image: public.ecr.aws/acme/app:{n}\n          ports: [{{containerPort: 8080}}]\n"
    "          resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}\n---\n"
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: app-{n}\n  namespace: {ns}\nspec:\n"
    "  selector: {{app: app-{n}}}\n  ports: [{{port: 80, targetPort: 8080}}]\n"
)

AWS_AUTH = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n"
    "  mapRoles: |\n{roles}"
)


def generate(out: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        kind = rng.choices(["tf", "yaml", "json", "aws-auth"], weights=[55, 35, 8, 2])[0]
        directory = out / f"team{i % 40:02d}" / ("infra" if kind == "tf" else "deploy")
        directory.mkdir(parents=True, exist_ok=True)
        n = f"x{i}"
        ns, sa = f"ns{rng.randrange(30)}", f"sa{rng.randrange(5)}"
        if kind == "tf":
            parts = [
                rng.choice(NOISE).format(n=f"{n}_{k}", a=rng.randrange(250), b=rng.randrange(250))
                for k in range(rng.randrange(3, 9))
            ]
            roll = rng.random()
            if roll < 0.15:
                parts.append(
                    EKS.format(
                        n=n,
                        pub=rng.choice(["true", "false"]),
                        logs=rng.choice(['["api"]', '["audit", "authenticator"]']),
                        tokens=rng.choice(["required", "optional"]),
                        hops=rng.choice([1, 2]),
                    )
                )
            elif roll < 0.35:
                parts.append(
                    IRSA.format(n=n, test=rng.choice(["StringEquals", "StringLike"]), ns=ns, sa=sa)
                )
            if i % 40 == 0:
                parts.append(
                    'variable "env" {\n  default = "prod"\n}\n\nlocals {\n  tags = { team = "acme" }\n}\n'
                )
            (directory / f"main_{i}.tf").write_text("\n".join(parts))
        elif kind == "yaml":
            (directory / f"app_{i}.yaml").write_text(MANIFEST.format(n=n, ns=ns, sa=sa))
        elif kind == "json":
            doc = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {
                            "AWS": rng.choice(
                                [
                                    "arn:aws:iam::444455556666:root",
                                    "arn:aws:iam::444455556666:role/ci",
                                ]
                            )
                        },
                    }
                ],
            }
            (directory / f"trust_{i}.json").write_text(json.dumps(doc, indent=2))
        else:
            roles = "".join(
                f"    - rolearn: arn:aws:iam::111122223333:role/r{k}\n      username: r{k}\n"
                f"      groups: [{rng.choice(['system:masters', 'viewers', 'deployers'])}]\n"
                for k in range(rng.randrange(2, 8))
            )
            (directory / f"aws-auth_{i}.yaml").write_text(AWS_AUTH.format(roles=roles))


KUSTOMIZE_BASE = {
    "kustomization.yaml": "resources:\n  - deploy.yaml\n  - sa.yaml\n  - rbac.yaml\n",
    "deploy.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\nspec:\n  replicas: 2\n"
        "  selector:\n    matchLabels: {{app: {app}}}\n  template:\n    metadata:\n"
        "      labels: {{app: {app}}}\n    spec:\n      serviceAccountName: {app}\n"
        "      automountServiceAccountToken: false\n      containers:\n        - name: app\n"
        "          image: public.ecr.aws/acme/{app}:1\n          securityContext:\n"
        "            runAsNonRoot: true\n"
    ),
    "sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {app}\n",
    "rbac.yaml": (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {app}\n"
        "rules:\n  - apiGroups: ['']\n    resources: [configmaps]\n    verbs: [get, list]\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: {app}\n"
        "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {app}\n"
        "subjects:\n  - kind: ServiceAccount\n    name: {app}\n"
    ),
}
KUSTOMIZE_OVERLAY = (
    "namespace: {app}-{env}\nnamePrefix: {env}-\nresources:\n  - ../../base\n"
    "components:\n  - ../../../../components/irsa\npatches:\n  - path: token.yaml\n"
    "  - target:\n      kind: ServiceAccount\n    patch: |-\n      - op: add\n"
    "        path: /metadata/annotations\n        value:\n"
    "          eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/{app}-{env}\n"
)
KUSTOMIZE_TOKEN = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\nspec:\n  template:\n"
    "    spec:\n      automountServiceAccountToken: {automount}\n"
)
KUSTOMIZE_COMPONENT = (
    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n"
    "  - pairs:\n      team: acme\n"
)


def generate_kustomize(out: Path, apps: int, seed: int = 7) -> None:
    """`apps` apps under out/apps/, each a base and dev, staging and prod overlays that share
    out/components/irsa: 4 + 3 * 2 files per app, and 3 renders."""
    rng = random.Random(seed)
    component = out / "components" / "irsa"
    component.mkdir(parents=True, exist_ok=True)
    (component / "kustomization.yaml").write_text(KUSTOMIZE_COMPONENT)
    for i in range(apps):
        app = f"app{i:03d}"
        base = out / "apps" / app / "base"
        base.mkdir(parents=True, exist_ok=True)
        for name, text in KUSTOMIZE_BASE.items():
            (base / name).write_text(text.format(app=app))
        for env in ("dev", "staging", "prod"):
            overlay = out / "apps" / app / "overlays" / env
            overlay.mkdir(parents=True, exist_ok=True)
            (overlay / "kustomization.yaml").write_text(KUSTOMIZE_OVERLAY.format(app=app, env=env))
            automount = rng.choice(["true", "false"])
            (overlay / "token.yaml").write_text(
                KUSTOMIZE_TOKEN.format(app=app, automount=automount)
            )


CFN_HEAD = """AWSTemplateFormatVersion: "2010-09-09"
Description: team {team} stack {n}
Parameters:
  Env:
    Type: String
    AllowedValues: [prod, staging]
    Default: {env}
  AdminCidrs:
    Type: CommaDelimitedList
    Default: {cidrs}
  ClusterVersion:
    Type: String
    Default: "1.{minor}"
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  InIreland: !Equals [!Ref "AWS::Region", eu-west-1]
Mappings:
  Sizes:
    prod: {{Nodes: "6", Instance: m6i.xlarge}}
    staging: {{Nodes: "2", Instance: m6i.large}}
Resources:
"""

CFN_NOISE = [
    """  Vpc{k}:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.{a}.0.0/16
      EnableDnsSupport: true
      Tags:
        - Key: Name
          Value: !Sub "${{AWS::StackName}}-vpc-{k}"
  Subnet{k}:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc{k}
      CidrBlock: 10.{a}.{b}.0/24
      AvailabilityZone: !Select [0, !GetAZs ""]
""",
    """  Bucket{k}:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    Properties:
      BucketName: !Sub "acme-${{Env}}-{k}-${{AWS::AccountId}}"
      VersioningConfiguration:
        Status: Enabled
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault:
              SSEAlgorithm: aws:kms
""",
    """  Function{k}:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt FunctionRole{k}.Arn
      Timeout: !If [IsProd, 60, 30]
      Code:
        ZipFile: |
          def handler(event, context):
              return {{"ok": True}}
  FunctionRole{k}:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{Service: lambda.amazonaws.com}}
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - !Sub arn:${{AWS::Partition}}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
""",
    """  Parameter{k}:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub "/acme/${{Env}}/setting-{k}"
      Type: String
      Value: !FindInMap [Sizes, !Ref Env, Instance]
""",
]

CFN_EKS = """  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      Name: !Sub "${{Env}}-{n}"
      Version: !Ref ClusterVersion
      RoleArn: !GetAtt ClusterRole.Arn
      ResourcesVpcConfig:
        SubnetIds: [subnet-0a1, subnet-0a2]
        EndpointPublicAccess: {pub}
        EndpointPrivateAccess: !If [IsProd, true, false]
        PublicAccessCidrs: !Ref AdminCidrs
      Logging:
        ClusterLogging:
          EnabledTypes: {logs}
      AccessConfig:
        AuthenticationMode: {mode}
  ClusterRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{Service: eks.amazonaws.com}}
            Action: [sts:AssumeRole, sts:TagSession]
      ManagedPolicyArns:
        - !Sub arn:${{AWS::Partition}}:iam::aws:policy/AmazonEKSClusterPolicy
  NodeRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{Service: ec2.amazonaws.com}}
            Action: sts:AssumeRole
  NodeTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        InstanceType: !FindInMap [Sizes, !Ref Env, Instance]
        MetadataOptions:
          HttpTokens: {tokens}
          HttpPutResponseHopLimit: {hops}
  Nodes:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: !Ref Cluster
      NodeRole: !GetAtt NodeRole.Arn
      Subnets: [subnet-0a1, subnet-0a2]
      LaunchTemplate:
        Id: !Ref NodeTemplate
  DefaultNodes:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: !Ref Cluster
      NodeRole: !GetAtt NodeRole.Arn
      Subnets: [subnet-0a1]
      AmiType: {ami}
  Admins:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: !Ref Cluster
      PrincipalArn: !Sub arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{team}-admins
      AccessPolicies:
        - PolicyArn: arn:aws:eks::aws:cluster-access-policy/{policy}
          AccessScope:
            Type: {scope}
            Namespaces: !If [IsProd, !Ref "AWS::NoValue", [{team}]]
  VpcCni:
    Type: AWS::EKS::Addon
    Properties:
      ClusterName: !Ref Cluster
      AddonName: vpc-cni
"""

CFN_IRSA = """  IrsaRole{k}:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub "${{Env}}-irsa-{n}-{k}"
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Federated: !Sub "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/{n}"
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              {test}:
                oidc.eks.eu-west-1.amazonaws.com/id/{n}:sub: system:serviceaccount:{ns}:{sa}
      Policies:
        - PolicyName: read
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: [s3:GetObject, s3:ListBucket]
                Resource: "*"
"""


def generate_cloudformation(out: Path, count: int, seed: int = 11) -> None:
    """`count` templates: YAML stacks (nine in ten) and CDK-style JSON ones."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        team = f"team{i % 40:02d}"
        directory = out / team / "stacks"
        directory.mkdir(parents=True, exist_ok=True)
        n = f"x{i}"
        parts = [
            CFN_HEAD.format(
                team=team,
                n=n,
                env=rng.choice(["prod", "staging"]),
                cidrs=rng.choice(["0.0.0.0/0", "203.0.113.0/24"]),
                minor=rng.choice([29, 31, 32]),
            )
        ]
        for k in range(rng.randrange(3, 10)):
            noise = rng.choice(CFN_NOISE)
            parts.append(noise.format(k=k, a=rng.randrange(250), b=rng.randrange(250)))
        if rng.random() < 0.3:
            parts.append(
                CFN_EKS.format(
                    n=n,
                    team=team,
                    pub=rng.choice(["true", "false"]),
                    logs=rng.choice(["[{Type: api}]", "[{Type: audit}, {Type: authenticator}]"]),
                    mode=rng.choice(["API", "API_AND_CONFIG_MAP", "CONFIG_MAP"]),
                    tokens=rng.choice(["required", "optional"]),
                    hops=rng.choice([1, 2]),
                    ami=rng.choice(["AL2_x86_64", "AL2023_x86_64_STANDARD", "BOTTLEROCKET_x86_64"]),
                    policy=rng.choice(["AmazonEKSClusterAdminPolicy", "AmazonEKSEditPolicy"]),
                    scope=rng.choice(["cluster", "namespace"]),
                )
            )
        for k in range(rng.randrange(0, 3)):
            parts.append(
                CFN_IRSA.format(
                    k=k,
                    n=n,
                    ns=f"ns{rng.randrange(30)}",
                    sa=f"sa{rng.randrange(5)}",
                    test=rng.choice(["StringEquals", "StringLike"]),
                )
            )
        text = "".join(parts)
        if i % 10 == 9:
            # as CDK writes it: JSON, one key per line, the tags as their long forms
            from checks.parse.yamlsafe import parse_yaml_file

            document = parse_yaml_file(text, intrinsics=lambda _doc: True)[0]
            (directory / f"Stack{i}.template.json").write_text(json.dumps(document, indent=1))
        else:
            (directory / f"stack_{i}.yaml").write_text(text)


# ---- a monorepo of environments: the same names in every environment directory -------------
ENV_CLUSTER = (
    'resource "aws_eks_cluster" "main" {{\n  name     = {cluster}\n  role_arn = aws_iam_role.cluster.arn\n'
    '  access_config {{\n    authentication_mode = "{mode}"\n  }}\n'
    "  vpc_config {{\n    subnet_ids             = var.subnet_ids\n    endpoint_public_access = {pub}\n"
    "  }}\n}}\n\n"
    'resource "aws_iam_role" "cluster" {{\n  name = "platform-cluster"\n  assume_role_policy = jsonencode({{\n'
    '    Version = "2012-10-17"\n    Statement = [{{\n      Effect    = "Allow"\n'
    '      Principal = {{ Service = "eks.amazonaws.com" }}\n      Action    = "sts:AssumeRole"\n    }}]\n  }})\n}}\n\n'
    'resource "aws_eks_addon" "vpc_cni" {{\n  cluster_name = aws_eks_cluster.main.name\n  addon_name   = "vpc-cni"\n}}\n\n'
    'resource "aws_eks_addon" "coredns" {{\n  cluster_name = aws_eks_cluster.main.name\n  addon_name   = "coredns"\n}}\n\n'
    'resource "aws_eks_identity_provider_config" "okta" {{\n  cluster_name = {idp_cluster}\n  oidc {{\n'
    '    identity_provider_config_name = "okta"\n    issuer_url                    = "https://acme.okta.com"\n'
    '    client_id                     = "platform"\n  }}\n}}\n'
)

ENV_ACCESS_ENTRY = (
    'resource "aws_eks_access_entry" "{name}" {{\n  cluster_name  = {cluster}\n  principal_arn = {principal}\n'
    '  kubernetes_groups = ["{group}"]\n}}\n\n'
    'resource "aws_eks_access_policy_association" "{name}" {{\n  cluster_name  = {cluster}\n'
    "  principal_arn = {principal}\n"
    '  policy_arn    = "arn:aws:eks::aws:cluster-access-policy/{policy}"\n'
    '  access_scope {{\n    type = "{scope}"\n  }}\n}}\n'
)

ENV_IRSA = (
    'resource "aws_iam_role" "{name}" {{\n  name = "{role}"\n  assume_role_policy = jsonencode({{\n'
    '    Version = "2012-10-17"\n    Statement = [{{\n      Effect    = "Allow"\n'
    '      Action    = "sts:AssumeRoleWithWebIdentity"\n'
    '      Principal = {{ Federated = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/{env}" }}\n'
    "      Condition = {{\n        {test} = {{\n"
    '          "oidc.eks.eu-west-1.amazonaws.com/id/{env}:sub" = "system:serviceaccount:{ns}:{sa}"\n'
    "        }}\n      }}\n    }}]\n  }})\n}}\n\n"
    'resource "aws_iam_role_policy" "{name}" {{\n  name = "{role}-inline"\n  role = aws_iam_role.{name}.id\n'
    '  policy = jsonencode({{\n    Statement = [{{\n      Effect   = "Allow"\n'
    '      Action   = ["s3:GetObject", "{extra}"]\n      Resource = "*"\n    }}]\n  }})\n}}\n\n'
    'resource "aws_iam_role_policy_attachment" "{name}" {{\n  role       = aws_iam_role.{name}.name\n'
    '  policy_arn = "arn:aws:iam::aws:policy/{managed}"\n}}\n'
)

ENV_POD_IDENTITY = (
    'resource "aws_iam_role" "worker" {{\n  name = "platform-worker"\n  assume_role_policy = jsonencode({{\n'
    '    Version = "2012-10-17"\n    Statement = [{{\n      Effect    = "Allow"\n'
    '      Principal = {{ Service = "pods.eks.amazonaws.com" }}\n'
    '      Action    = ["sts:AssumeRole", "sts:TagSession"]\n    }}]\n  }})\n}}\n\n'
    'resource "aws_eks_pod_identity_association" "worker" {{\n  cluster_name    = aws_eks_cluster.main.name\n'
    '  namespace       = {namespace}\n  service_account = "worker"\n  role_arn        = aws_iam_role.worker.arn\n}}\n\n'
    'resource "aws_iam_policy" "worker" {{\n  name   = "platform-worker"\n  policy = jsonencode({{\n'
    '    Statement = [{{ Effect = "Allow", Action = ["sqs:*"], Resource = "*" }}]\n  }})\n}}\n\n'
    'resource "aws_iam_role_policy_attachment" "worker" {{\n  role       = aws_iam_role.worker.name\n'
    "  policy_arn = aws_iam_policy.worker.arn\n}}\n"
)

ENV_VARIABLES = (
    'variable "subnet_ids" {\n  type    = list(string)\n  default = ["subnet-1", "subnet-2"]\n}\n\n'
    'variable "namespace" {\n  type = string\n}\n\n'
    'locals {\n  tags = { team = "platform" }\n}\n'
)

ENV_SERVICE_ACCOUNTS = (
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {sa}\n  namespace: apps\n  annotations:\n"
    "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/{role}\n{automount}---\n"
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: worker\n  namespace: apps\n---\n"
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: apps\n---\n"
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: aws-node\n  namespace: kube-system\n"
    "  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/platform-cni\n"
)

ENV_WORKLOAD = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: apps\nspec:\n"
    "  replicas: 2\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n"
    "      labels: {{app: {name}}}\n    spec:\n      serviceAccountName: {sa}\n      containers:\n"
    "        - name: app\n          image: public.ecr.aws/acme/{name}:1.4.2\n"
    "          resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}\n---\n"
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: apps\nspec:\n"
    "  selector: {{app: {name}}}\n  ports: [{{port: 80, targetPort: 8080}}]\n"
)

ENV_RBAC = (
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: deployer\n  namespace: apps\n"
    "rules:\n  - apiGroups: [apps]\n    resources: [deployments]\n    verbs: [get, list, patch]\n"
    "  - apiGroups: ['']\n    resources: [{secrets}]\n    verbs: [get]\n---\n"
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: deployer\n"
    "  namespace: apps\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: deployer\n"
    "subjects:\n  - kind: ServiceAccount\n    name: app\n---\n"
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: platform-monitoring\n"
    "aggregationRule:\n  clusterRoleSelectors:\n"
    "    - matchLabels:\n        rbac.acme.io/aggregate-to-monitoring: 'true'\nrules: []\n---\n"
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: metrics-reader\n"
    "  labels:\n    rbac.acme.io/aggregate-to-monitoring: 'true'\n"
    "rules:\n  - apiGroups: ['']\n    resources: [pods, nodes]\n    verbs: [get, list, watch]\n---\n"
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: platform-developers\n"
    "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {developer_role}\n"
    "subjects:\n  - kind: Group\n    name: developers\n    apiGroup: rbac.authorization.k8s.io\n"
)

ENV_AWS_AUTH = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n"
    "  mapRoles: |\n"
    "    - rolearn: arn:aws:iam::111122223333:role/platform-nodes\n"
    "      username: system:node:{{{{EC2PrivateDNSName}}}}\n"
    "      groups: [system:bootstrappers, system:nodes]\n"
    "    - rolearn: arn:aws:iam::111122223333:role/platform-developers\n"
    "      username: developer\n      groups: [developers]\n"
    "    - rolearn: arn:aws:iam::111122223333:role/{admin}\n"
    "      username: admin\n      groups: [{admin_group}]\n"
)


def _environment_files(env: str, rng: random.Random) -> list[tuple[str, str]]:
    """One environment's files, (path inside it, text): the same clusters, roles, access
    entries, ServiceAccounts and bindings by name as every other environment's."""
    literal = rng.random() < 0.5  # half write the cluster's name, half refer to it
    cluster = '"platform"' if literal else "aws_eks_cluster.main.name"
    files = [
        (
            "infra/eks.tf",
            ENV_CLUSTER.format(
                cluster='"platform"',
                mode=rng.choice(["API", "API_AND_CONFIG_MAP"]),
                pub=rng.choice(["true", "false"]),
                idp_cluster=cluster,
            ),
        ),
        ("infra/variables.tf", ENV_VARIABLES),
    ]
    entries = [
        ("admin", '"arn:aws:iam::111122223333:role/platform-admin"', "admins"),
        ("developers", '"arn:aws:iam::111122223333:role/platform-developers"', "developers"),
        ("ci", "aws_iam_role.ci.arn", "deployers"),
        ("auditors", '"arn:aws:iam::444455556666:role/auditors"', "viewers"),
    ]
    if rng.random() < 0.1:  # a copied entry for a principal that already has one
        entries.append(("oncall", '"arn:aws:iam::111122223333:role/platform-developers"', "oncall"))
    access = "\n".join(
        ENV_ACCESS_ENTRY.format(
            name=name,
            cluster=cluster,
            principal=principal,
            group=group,
            policy=rng.choice(["AmazonEKSViewPolicy", "AmazonEKSEditPolicy"]),
            scope=rng.choice(["cluster", "namespace"]),
        )
        for name, principal, group in entries
    )
    access += (
        '\nresource "aws_iam_role" "ci" {\n  name = "platform-ci"\n'
        '  assume_role_policy = jsonencode({\n    Statement = [{\n      Effect = "Allow"\n'
        '      Action = "sts:AssumeRole"\n'
        '      Principal = { AWS = "arn:aws:iam::444455556666:role/ci-runner" }\n    }]\n  })\n}\n'
    )
    files.append(("infra/access.tf", access))
    files.append(
        (
            "infra/irsa.tf",
            ENV_IRSA.format(
                name="app",
                role="platform-app",
                env=env.replace("/", "-"),
                test=rng.choice(["StringEquals", "StringLike"]),
                ns="apps",
                sa=rng.choice(["app", "*"]),
                extra=rng.choice(["s3:PutObject", "iam:PassRole", "*"]),
                managed=rng.choice(["ReadOnlyAccess", "AmazonS3ReadOnlyAccess"]),
            ),
        )
    )
    namespace = '"apps"' if rng.random() < 0.8 else "var.namespace"
    files.append(("infra/pod-identity.tf", ENV_POD_IDENTITY.format(namespace=namespace)))
    for k in range(rng.randrange(2, 5)):
        parts = [
            rng.choice(NOISE).format(n=f"n{k}_{j}", a=rng.randrange(250), b=rng.randrange(250))
            for j in range(rng.randrange(2, 6))
        ]
        files.append((f"infra/network_{k}.tf", "\n".join(parts)))
    automount = "automountServiceAccountToken: false\n" if rng.random() < 0.5 else ""
    files.append(
        (
            "k8s/serviceaccounts.yaml",
            ENV_SERVICE_ACCOUNTS.format(sa="app", role="platform-app", automount=automount),
        )
    )
    for name, sa in (("api", "app"), ("queue", "worker"), ("web", "default"), ("jobs", "app")):
        files.append((f"k8s/{name}.yaml", ENV_WORKLOAD.format(name=name, sa=sa)))
    files.append(
        (
            "k8s/rbac.yaml",
            ENV_RBAC.format(
                secrets=rng.choice(["configmaps", "secrets"]),
                developer_role=rng.choice(["view", "edit", "platform-monitoring"]),
            ),
        )
    )
    files.append(
        (
            "k8s/aws-auth.yaml",
            ENV_AWS_AUTH.format(
                admin=rng.choice(["platform-admin", "break-glass"]),
                admin_group=rng.choice(["system:masters", "admins"]),
            ),
        )
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": rng.choice(["arn:aws:iam::444455556666:root", "*"])},
            }
        ],
    }
    files.append(("iam/break-glass.json", json.dumps(trust, indent=2)))
    return files


def generate_monorepo(out: Path, count: int, seed: int = 7) -> None:
    """About `count` files in environment directories (`envs/<region>/<stage>-<n>/`) that
    each hold the same clusters, access entries, roles, ServiceAccounts and bindings by name,
    as a monorepo of many environments does."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    number = 0
    regions = ["eu-west-1", "us-east-1", "ap-south-1", "sa-east-1"]
    while written < count:
        stage = ["dev", "staging", "prod"][number % 3]
        env = f"envs/{regions[number // 3 % len(regions)]}/{stage}-{number:04d}"
        for path, text in _environment_files(env, rng)[: count - written]:
            target = out / env / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            written += 1
        number += 1


CORPORA = {
    "mixed": generate,
    "cloudformation": generate_cloudformation,
    "monorepo": generate_monorepo,
}


if __name__ == "__main__":
    if sys.argv[1] == "--kustomize":
        generate_kustomize(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        corpus = sys.argv[3] if len(sys.argv) > 3 else "mixed"
        CORPORA[corpus](Path(sys.argv[1]), int(sys.argv[2]))
