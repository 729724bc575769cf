"""terraform-aws-modules/eks calls (v19, v20, v21, unpinned) and the IAM IRSA module are read
as what they create, with each version's own defaults; the same cluster written as a raw
resource, as any module version, as an eksctl ClusterConfig, a plan, the running
cluster's export, a CloudFormation template or AWS CDK's synthesized one yields the same
findings."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, run

RAW = """
resource "aws_eks_cluster" "this" {
  name = "shop"
  vpc_config {
    endpoint_public_access  = true
    endpoint_private_access = false
    public_access_cidrs     = ["0.0.0.0/0"]
  }
  enabled_cluster_log_types = ["api"]
  access_config {
    authentication_mode                         = "CONFIG_MAP"
    bootstrap_cluster_creator_admin_permissions = true
  }
}

resource "aws_launch_template" "default" {
  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }
}
"""

V19 = """
module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 19.21"

  cluster_name                         = "shop"
  cluster_endpoint_public_access       = true
  cluster_endpoint_private_access      = false
  cluster_endpoint_public_access_cidrs = ["0.0.0.0/0"]
  cluster_enabled_log_types            = ["api"]

  eks_managed_node_groups = {
    default = {}
  }
}
"""

V20 = """
module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "20.37.2"

  cluster_name                             = "shop"
  cluster_endpoint_public_access           = true
  cluster_endpoint_private_access          = false
  cluster_enabled_log_types                = ["api"]
  authentication_mode                      = "CONFIG_MAP"
  enable_cluster_creator_admin_permissions = true

  eks_managed_node_groups = {
    default = {
      metadata_options = {
        http_tokens                 = "required"
        http_put_response_hop_limit = 2
      }
    }
  }
}
"""

V21 = """
module "eks" {
  source = "git::https://github.com/terraform-aws-modules/terraform-aws-eks.git?ref=v21.3.0"

  name                                     = "shop"
  endpoint_public_access                   = true
  endpoint_private_access                  = false
  enabled_log_types                        = ["api"]
  authentication_mode                      = "CONFIG_MAP"
  enable_cluster_creator_admin_permissions = true

  eks_managed_node_groups = {
    default = {
      metadata_options = { http_put_response_hop_limit = 2 }
    }
  }
}
"""

EKSCTL = """apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: shop
  region: eu-west-1
vpc:
  clusterEndpoints:
    publicAccess: true
    privateAccess: false
cloudWatch:
  clusterLogging:
    enableTypes: ["api"]
accessConfig:
  authenticationMode: CONFIG_MAP
managedNodeGroups:
  - name: default
    instanceType: m6i.large
"""


def _live() -> str:
    """The same cluster as the running cluster tells it: `aws ... --output json` outputs
    (those of fixtures/live/export, set as the cluster above is), keyed by command."""
    export = FIXTURES / "live" / "export"
    cluster = json.loads((export / "eks-describe-cluster.json").read_text())
    c = cluster["cluster"]
    c["name"], c["arn"] = "shop", "arn:aws:eks:eu-west-1:111122223333:cluster/shop"
    c["resourcesVpcConfig"]["endpointPrivateAccess"] = False
    c["logging"]["clusterLogging"] = [
        {"types": ["api"], "enabled": True},
        {"types": ["audit", "authenticator", "controllerManager", "scheduler"], "enabled": False},
    ]
    c["accessConfig"]["authenticationMode"] = "CONFIG_MAP"
    group = json.loads((export / "eks-describe-nodegroup.json").read_text())
    g = group["nodegroup"]
    g["clusterName"], g["amiType"] = "shop", "AL2023_x86_64_STANDARD"
    del g["diskSize"]  # only without a launch template
    g["launchTemplate"] = {"name": "default", "version": "1", "id": "lt-0a1b2c3d4e5f60020"}
    versions = json.loads(
        (FIXTURES / "rules" / "EKS201" / "live_launch_template_versions.json").read_text()
    )
    (version,) = [v for v in versions["LaunchTemplateVersions"] if v["VersionNumber"] == 1]
    version["LaunchTemplateName"] = "default"
    version["LaunchTemplateData"]["MetadataOptions"] = {
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 2,
    }
    id_ = "lt-0a1b2c3d4e5f60020"
    outputs = {
        "aws eks describe-cluster --name shop": cluster,
        "aws eks describe-nodegroup --cluster-name shop --nodegroup-name default": group,
        f"aws ec2 describe-launch-template-versions --launch-template-id {id_} --versions 1": {
            "LaunchTemplateVersions": [version]
        },
    }
    return json.dumps(outputs, indent=4)


CLOUDFORMATION = """AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Cidrs:
    Type: CommaDelimitedList
    Default: 0.0.0.0/0
Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      Name: shop
      RoleArn: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:role/eks
      ResourcesVpcConfig:
        SubnetIds: [subnet-0a1]
        EndpointPublicAccess: true
        PublicAccessCidrs: !Ref Cidrs
      Logging:
        ClusterLogging:
          EnabledTypes:
            - Type: api
  Nodes:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions:
          HttpTokens: required
          HttpPutResponseHopLimit: 2
"""

EXPECTED = {"EKS101", "EKS102", "EKS103", "EKS202", "EKS507", "EKS508"}
# v20 and v21 give the creator cluster-admin as an access entry, not as the cluster's
# bootstrap flag (which they set to false): EKS506 instead of EKS508
ACCESS_ENTRY_CREATOR = (EXPECTED - {"EKS508"}) | {"EKS506"}


PLAN = (FIXTURES / "tfplan-shop.json").read_text()
# aws-eks v1 (Custom::AWSCDK-EKS-Cluster) and an L1 launch template: tests/fixtures/cdk/make.py
CDK = (FIXTURES / "cdk" / "cdk.out" / "ShopStack.template.json").read_text()


@pytest.mark.parametrize(
    "spelling", ["raw", "v19", "v20", "v21", "eksctl", "plan", "live", "cloudformation", "cdk"]
)
def test_same_cluster_same_findings(tmp_path, spelling):
    name = {
        "eksctl": "cluster.yaml",
        "plan": "tfplan.json",
        "live": "shop.json",
        "cloudformation": "shop.yaml",
        "cdk": "ShopStack.template.json",
    }.get(spelling, "main.tf")
    sources = {
        "raw": RAW,
        "v19": V19,
        "v20": V20,
        "v21": V21,
        "eksctl": EKSCTL,
        "plan": PLAN,
        "live": _live(),
        "cloudformation": CLOUDFORMATION,
        "cdk": CDK,
    }
    (tmp_path / name).write_text(sources[spelling])
    result = run([tmp_path])
    assert result.problems == []
    expected = ACCESS_ENTRY_CREATOR if spelling in ("v20", "v21") else EXPECTED
    assert {f.rule_id for f in result.findings} == expected


def test_module_defaults_differ_by_version(tmp_path):
    """v19/v20 node groups default to hop limit 2; v21's to 1. v20+ default to
    API_AND_CONFIG_MAP without the creator as admin; v19 to CONFIG_MAP with it."""
    for version in ("19.0", "20.0", "21.0"):
        (tmp_path / f"v{version[:2]}.tf").write_text(
            f'module "eks{version[:2]}" {{\n  source  = "terraform-aws-modules/eks/aws"\n'
            f'  version = "~> {version}"\n  eks_managed_node_groups = {{ ng = {{}} }}\n}}\n'
        )
    result = run([tmp_path])
    found = sorted((f.location.file.rsplit("/", 1)[-1], f.rule_id) for f in result.findings)
    assert found == [
        ("v19.tf", "EKS202"),
        ("v19.tf", "EKS507"),
        ("v19.tf", "EKS508"),
        ("v20.tf", "EKS202"),
    ]
    clusters = {e.fields["address"]: e for e in result.entities if e.kind == "cluster"}
    assert (
        clusters["module.eks21"].defaulted["endpoint_public_access"]
        == "terraform-aws-modules/eks v21 default"
    )


def test_unpinned_module_says_which_defaults_it_assumed(tmp_path):
    (tmp_path / "main.tf").write_text(
        'module "eks" {\n  source = "terraform-aws-modules/eks/aws"\n}\n'
    )
    (cluster,) = [e for e in run([tmp_path]).entities if e.kind == "cluster"]
    assert cluster.defaulted["authentication_mode"] == (
        "terraform-aws-modules/eks v21 default (version not pinned, assumed)"
    )


def test_partial_metadata_options_in_v20_lose_the_token_requirement(tmp_path):
    """v19/v20 replace the whole default map: setting only the hop limit drops
    http_tokens = required, and EC2's default (optional) applies."""
    (tmp_path / "main.tf").write_text(
        'module "eks" {\n  source = "terraform-aws-modules/eks/aws"\n  version = "~> 20.0"\n'
        "  eks_managed_node_groups = {\n    gpu = {\n"
        "      metadata_options = { http_put_response_hop_limit = 1 }\n    }\n  }\n}\n"
    )
    result = run([tmp_path], select={"EKS201", "EKS202"})
    assert [(f.rule_id, f.location.start_line, f.message) for f in result.findings] == [
        (
            "EKS201",
            6,
            'module.eks eks_managed_node_groups["gpu"] has http_tokens = optional: '
            "IMDSv1 hands out the node role's credentials to any request",
        ),
    ]


def test_access_entries_and_policy_associations(tmp_path):
    (tmp_path / "main.tf").write_text(
        'module "eks" {\n  source = "terraform-aws-modules/eks/aws"\n  version = "~> 20.0"\n'
        "  access_entries = {\n"
        "    ci = {\n"
        '      principal_arn = "arn:aws:iam::111122223333:user/ci"\n'
        "      policy_associations = {\n"
        "        admin = {\n"
        '          policy_arn   = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"\n'
        '          access_scope = { type = "cluster" }\n'
        "        }\n      }\n    }\n  }\n}\n"
    )
    result = run([tmp_path], select={"EKS502", "EKS506"})
    assert [(f.rule_id, f.location.start_line) for f in result.findings] == [
        ("EKS502", 6),
        ("EKS506", 9),
    ]


def test_irsa_role_module_trust(tmp_path):
    (tmp_path / "main.tf").write_text(
        'module "irsa" {\n'
        '  source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"\n'
        '  version = "~> 5.0"\n'
        '  role_name = "ebs-csi"\n'
        '  assume_role_condition_test = "StringLike"\n'
        "  oidc_providers = {\n"
        "    main = {\n"
        "      provider_arn               = module.eks.oidc_provider_arn\n"
        '      namespace_service_accounts = ["kube-system:*"]\n'
        "    }\n  }\n}\n"
    )
    result = run([tmp_path], select={"EKS402", "EKS403", "EKS404"})
    assert [(f.rule_id, f.location.start_line, f.message) for f in result.findings] == [
        (
            "EKS403",
            7,
            "role ebs-csi trusts subjects [system:serviceaccount:kube-system:*] with a "
            "*Like wildcard: more service accounts than intended can assume it",
        ),
    ]


def test_eksctl_cluster_config(tmp_path):
    """eksctl's own defaults: IMDSv1 off, pods reach IMDS (hop limit 2) unless disablePodIMDS,
    creator bootstrap on; iamIdentityMappings are aws-auth entries; identityProviders too."""
    (tmp_path / "cluster.yaml").write_text(
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: c\n"
        "vpc:\n  clusterEndpoints:\n    publicAccess: false\n    privateAccess: true\n"
        "accessConfig:\n  authenticationMode: API\n  bootstrapClusterCreatorAdminPermissions: false\n"
        "  accessEntries:\n    - principalARN: arn:aws:iam::111122223333:role/ops\n"
        "      accessPolicies:\n        - policyARN: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy\n"
        "          accessScope: {type: cluster}\n"
        'cloudWatch:\n  clusterLogging:\n    enableTypes: ["*"]\n'
        "iamIdentityMappings:\n  - arn: arn:aws:iam::111122223333:role/team/dev\n    groups: [dev]\n"
        "identityProviders:\n  - {name: okta, type: oidc, issuerURL: https://o, clientID: x, groupsClaim: g, groupsPrefix: 'okta:'}\n"
        "managedNodeGroups:\n  - name: safe\n    disablePodIMDS: true\n"
    )
    result = run([tmp_path])
    assert result.problems == []
    # API mode with iamIdentityMappings: the mappings are an aws-auth the cluster ignores
    assert sorted((f.rule_id, f.location.start_line) for f in result.findings) == [
        ("EKS505", 21),
        ("EKS506", 15),
        ("EKS510", 1),
    ]


def test_plan_findings_name_the_plan_address():
    result = run([FIXTURES / "tfplan-shop.json"], select={"EKS202"})
    (finding,) = result.findings
    assert finding.location.start_line == 42
    assert finding.entity_key.endswith(
        ':module.eks.module.eks_managed_node_group["default"].aws_launch_template.this[0]'
    )
    assert finding.message.startswith(
        'module.eks.module.eks_managed_node_group["default"].aws_launch_template.this[0] sets'
    )


def test_a_plans_kubernetes_resources_and_policy_documents_are_named_by_their_plan_address(
    tmp_path,
):
    """A planned `kubernetes_*` resource is read as the manifest it stands for (it ended the
    plan's reading with an internal error), and what the plan's resources make is keyed and
    named by their plan addresses, never by the labels we give them inside."""
    import json

    plan = {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {
                "child_modules": [
                    {
                        "resources": [
                            {
                                "address": "module.app.kubernetes_service_account.sa",
                                "mode": "managed",
                                "type": "kubernetes_service_account",
                                "name": "sa",
                                "values": {
                                    "metadata": [{"name": "default", "namespace": "shop"}],
                                    "automount_service_account_token": True,
                                },
                            },
                            {
                                "address": 'module.app.data.aws_iam_policy_document.trust["a"]',
                                "mode": "data",
                                "type": "aws_iam_policy_document",
                                "name": "trust",
                                "values": {
                                    "statement": [
                                        {
                                            "effect": "Allow",
                                            "actions": ["sts:AssumeRole"],
                                            "principals": [{"type": "AWS", "identifiers": ["*"]}],
                                        }
                                    ]
                                },
                            },
                        ]
                    }
                ]
            }
        },
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan, indent=1))
    result = run([tmp_path], select={"EKS302", "EKS401"})
    assert result.problems == []
    address = 'module.app.data.aws_iam_policy_document.trust["a"]'
    plan_key = f"plan:{result.files[0].display}:{address}"
    assert sorted((f.rule_id, f.location.start_line, f.entity_key) for f in result.findings) == [
        ("EKS302", 20, "k8s:shop/ServiceAccount/default"),
        ("EKS401", 36, f"{plan_key}/statement[0]"),  # its principals
    ]
    (account,) = [e for e in result.entities if e.kind == "service_account"]
    assert account.origin == "plan"
    (statement,) = [e for e in result.entities if e.kind == "trust_statement"]
    assert (statement.origin, statement.fields["role_key"], statement.fields["policy_source"]) == (
        "plan",
        plan_key,
        address,
    )
    assert statement.fields["role_name"].text == f"(policy document {address})"


def test_aws_auth_module_inputs(tmp_path):
    """v20's aws-auth submodule (and v19's main module) take the entries as HCL lists."""
    (tmp_path / "main.tf").write_text(
        'module "aws_auth" {\n'
        '  source  = "terraform-aws-modules/eks/aws//modules/aws-auth"\n'
        '  version = "~> 20.0"\n'
        "  manage_aws_auth_configmap = true\n"
        "  aws_auth_roles = [\n"
        "    {\n"
        '      rolearn  = "arn:aws:iam::111122223333:role/Admin"\n'
        '      username = "admin"\n'
        '      groups   = ["system:masters"]\n'
        "    },\n"
        "  ]\n"
        '  aws_auth_accounts = ["444455556666"]\n'
        "}\n"
    )
    result = run([tmp_path], select={"EKS501", "EKS503"})
    assert sorted((f.rule_id, f.location.start_line) for f in result.findings) == [
        ("EKS501", 9),
        ("EKS503", 12),
    ]


def test_eksctl_service_accounts_and_pod_identity(tmp_path):
    (tmp_path / "cluster.yaml").write_text(
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: c\n"
        "vpc:\n  clusterEndpoints: {publicAccess: false, privateAccess: true}\n"
        "accessConfig: {authenticationMode: API, bootstrapClusterCreatorAdminPermissions: false}\n"
        "cloudWatch:\n  clusterLogging: {enableTypes: [audit, authenticator]}\n"
        "iam:\n  withOIDC: true\n  serviceAccounts:\n"
        "    - metadata: {name: default, namespace: batch}\n"
        "      attachPolicyARNs: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n"
        "    - metadata: {name: loader, namespace: batch}\n"
        "      attachPolicyARNs: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n"
        "  podIdentityAssociations:\n"
        "    - {namespace: web, serviceAccountName: default, roleARN: arn:aws:iam::111122223333:role/web}\n"
    )
    result = run([tmp_path], select={"EKS302", "EKS305"})
    assert sorted((f.rule_id, f.location.start_line) for f in result.findings) == [
        ("EKS302", 13),
        ("EKS305", 13),
        ("EKS305", 18),
    ]
