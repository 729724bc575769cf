"""A deterministic, realistic mixed corpus for benchmarks: Terraform directories where EKS and
IAM resources sit among VPCs, subnets, buckets and databases, multi-document manifests,
aws-auth ConfigMaps and trust-policy JSON; and a Kustomize tree (`generate_kustomize`): apps
with a base, three overlays each (namespace, prefix, a patch file, an inline JSON 6902
patch) and a component they share.

    python tests/benchmarks/generate.py OUT_DIR N_FILES
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


if __name__ == "__main__":
    if sys.argv[1] == "--kustomize":
        generate_kustomize(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        generate(Path(sys.argv[1]), int(sys.argv[2]))
