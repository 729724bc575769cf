"""CloudFormation resources whose properties depend on a condition not decided, and
`AccessPolicies` written in a shape CloudFormation refuses.

`Properties: !If [Cond, {...}, {...}]` on a condition the template does not decide reads as if
the `Fn::If` were written on each property where the branches differ: a property both branches
write alike (`AWS::NoValue` is absent) is known, and fires the rules it fires; one they write
differently is not known, for the condition's reason."""

from __future__ import annotations

import json

from bounded import scan_json
from checks.model import Unknown
from checks.parse.yamlsafe import parse_yaml_file
from conftest import run

UNDECIDED_PROPERTIES = """\
Parameters:
  Env: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  Imported: !Equals [!ImportValue shared-mode, api]
  Both: !And [!Condition IsProd, !Condition Imported]
Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties: !If
      - IsProd
      - Name: shop
        RoleArn: arn:aws:iam::111122223333:role/eks
        ResourcesVpcConfig:
          SubnetIds: [subnet-1]
          EndpointPublicAccess: true
          PublicAccessCidrs: [10.0.0.0/8]
        AccessConfig: {AuthenticationMode: API}
      - Name: shop
        RoleArn: arn:aws:iam::111122223333:role/eks
        ResourcesVpcConfig:
          SubnetIds: [subnet-2]
          EndpointPublicAccess: true
          PublicAccessCidrs: [0.0.0.0/0]
        AccessConfig:
          AuthenticationMode: API
          BootstrapClusterCreatorAdminPermissions: !Ref AWS::NoValue
  Entry:
    Type: AWS::EKS::AccessEntry
    Properties: !If
      - Imported
      - ClusterName: shop
        PrincipalArn: arn:aws:iam::111122223333:user/alice
        AccessPolicies:
          - PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
            AccessScope: {Type: cluster}
      - ClusterName: shop
        PrincipalArn: arn:aws:iam::111122223333:user/alice
        AccessPolicies:
          - PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy
            AccessScope: {Type: cluster}
  Role:
    Type: AWS::IAM::Role
    Properties: !If
      - Both
      - RoleName: deployer
        AssumeRolePolicyDocument:
          Statement:
            - Effect: Allow
              Principal: {AWS: "*"}
              Action: sts:AssumeRole
            - Effect: Allow
              Principal: {Federated: !Sub "arn:aws:iam::${AWS::AccountId}:oidc-provider/token.actions.githubusercontent.com"}
              Action: sts:AssumeRoleWithWebIdentity
      - RoleName: deployer
        AssumeRolePolicyDocument:
          Statement:
            - Effect: Allow
              Principal: {AWS: arn:aws:iam::111122223333:role/ci}
              Action: sts:AssumeRole
            - Effect: Allow
              Principal: {Federated: !Sub "arn:aws:iam::${AWS::AccountId}:oidc-provider/token.actions.githubusercontent.com"}
              Action: sts:AssumeRoleWithWebIdentity
"""


def _outcomes(result) -> tuple[list, list]:
    findings = sorted((f.rule_id, f.location.start_line, f.message) for f in result.findings)
    skipped = sorted(
        (s.rule_id, s.entity_key.rsplit(":", 1)[-1], s.location.start_line, s.reasons)
        for s in result.skipped
    )
    return findings, skipped


def test_properties_behind_a_condition_not_decided_make_an_entity_known_where_branches_agree(
    tmp_path,
):
    """A cluster, an access entry and a role whose whole `Properties` is an `!If` on a
    condition not decided (a parameter without a default, an `!ImportValue`, a condition of
    both): what both branches write alike fires, what they write differently is undecided
    for the condition named."""
    (tmp_path / "t.yaml").write_text(UNDECIDED_PROPERTIES)
    result = run(
        [tmp_path],
        select={"EKS101", "EKS103", "EKS405", "EKS407", "EKS502", "EKS506", "EKS508", "EKS511"},
    )
    findings, skipped = _outcomes(result)
    assert findings == [
        (
            "EKS103",
            8,
            "cluster shop logs [], not all of [audit, authenticator]: without them nobody can "
            "tell who did what",
        ),
        (
            "EKS405",
            53,
            "role deployer trusts GitHub Actions tokens with subject []: workflows outside your "
            "repository can assume it",
        ),
        (
            "EKS502",
            33,
            "access_entry maps IAM user arn:aws:iam::111122223333:user/alice: map a role that "
            "people assume instead",
        ),
        (
            "EKS508",
            8,
            "cluster shop gives its creator permanent cluster-admin access "
            "(AccessConfig.BootstrapClusterCreatorAdminPermissions = true)",
        ),
    ]
    assert skipped == [
        ("EKS101", "Cluster", 8, ["condition IsProd is not known"]),
        ("EKS407", "Role/statement[0]", 49, ["condition Both is not known"]),
        ("EKS506", "Entry.AccessPolicies[0]", 35, ["condition Imported is not known"]),
        ("EKS511", "Entry.AccessPolicies[0]", 35, ["condition Imported is not known"]),
    ]
    (cluster,) = [e for e in result.entities if e.kind == "cluster"]
    assert cluster.fields["name"] == "shop"
    assert cluster.fields["endpoint_public_access"] is True
    assert cluster.fields["authentication_mode"] == "API"
    (cidr,) = cluster.fields["public_access_cidrs"]  # a list as long in both branches
    assert (type(cidr), cidr.reason) == (Unknown, "condition IsProd is not known")


def test_the_same_properties_written_in_json_with_fn_if_are_read_alike(tmp_path):
    document = parse_yaml_file(UNDECIDED_PROPERTIES, intrinsics=lambda _doc: True)[0]
    (tmp_path / "t.json").write_text(json.dumps(document, indent=1))
    result = run([tmp_path], select={"EKS101", "EKS103", "EKS405", "EKS407", "EKS502", "EKS506"})
    assert sorted(f.rule_id for f in result.findings) == ["EKS103", "EKS405", "EKS502"]
    assert sorted((s.rule_id, s.reasons) for s in result.skipped) == [
        ("EKS101", ["condition IsProd is not known"]),
        ("EKS407", ["condition Both is not known"]),
        ("EKS506", ["condition Imported is not known"]),
    ]


PROPERTIES_NOT_KNOWN = """Parameters:
  Env: {Type: String}
  Mode: {Type: String, Default: prod}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  ModeProd: !Equals [!Ref Mode, prod]
  InIreland: !Equals [!Ref "AWS::Region", eu-west-1]
Resources:
  Imported:
    Type: AWS::EKS::Cluster
    Properties: !ImportValue cluster-properties
  OnlyOne:
    Type: AWS::EKS::Cluster
    Properties: !If
      - IsProd
      - Name: only-one
        ResourcesVpcConfig: {EndpointPublicAccess: false}
      - !Ref AWS::NoValue
  Nested:
    Type: AWS::EKS::AccessEntry
    Properties: !If
      - IsProd
      - ClusterName: shop
        PrincipalArn: !GetAtt Admin.Arn
        AccessPolicies:
          - {PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy}
      - !If
        - InIreland
        - ClusterName: shop
          PrincipalArn: !GetAtt Admin.Arn
          AccessPolicies:
            - {PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy}
        - ClusterName: shop
          PrincipalArn: !GetAtt Admin.Arn
          AccessPolicies:
            - {PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy}
  Decided:
    Type: AWS::EKS::AccessEntry
    Properties: !If
      - ModeProd
      - ClusterName: shop
        PrincipalArn: !GetAtt Admin.Arn
        AccessPolicies:
          - {PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy}
      - ClusterName: shop
        PrincipalArn: arn:aws:iam::111122223333:role/other
  MayExist:
    Type: AWS::EKS::AccessEntry
    Condition: InIreland
    Properties:
      ClusterName: shop
      PrincipalArn: arn:aws:iam::111122223333:role/may-exist
      AccessPolicies:
        - {PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy}
  Admin:
    Type: AWS::IAM::Role
    Properties:
      RoleName: admin
"""


def test_properties_not_known_as_a_whole_make_an_entity_whose_fields_are_not_known(tmp_path):
    """`Properties: !ImportValue x` and a branch `AWS::NoValue` (no property written) leave
    what they may hold not known, for their reason; a condition nested in a branch is read
    as the outer one; a condition decided takes its branch, its references kept (the entry
    is of the role `Admin`); a resource whose own `Condition` is not decided may be created,
    and is read as written."""
    (tmp_path / "t.yaml").write_text(PROPERTIES_NOT_KNOWN)
    result = run([tmp_path], select={"EKS101", "EKS103", "EKS506"})
    findings, skipped = _outcomes(result)
    assert findings == [
        (
            "EKS103",
            12,
            "cluster ${If.IsProd} logs [], not all of [audit, authenticator]: without them "
            "nobody can tell who did what",
        ),
        (
            "EKS506",
            44,
            "access policy association gives arn:${AWS::Partition}:iam::${AWS::AccountId}:"
            "role/admin AmazonEKSClusterAdminPolicy (scope (not set))",
        ),
        (
            "EKS506",
            54,
            "access policy association gives arn:aws:iam::111122223333:role/may-exist "
            "AmazonEKSClusterAdminPolicy (scope (not set))",
        ),
    ]
    imported = "Fn::ImportValue is known only when the stack is created"
    assert skipped == [
        ("EKS101", "Imported", 9, [imported]),
        ("EKS101", "OnlyOne", 12, ["condition IsProd is not known"]),
        ("EKS103", "Imported", 9, [imported]),
        ("EKS506", "Nested.AccessPolicies[0]", 26, ["condition IsProd is not known"]),
    ]
    refs = {
        e.fields["address"]: e.fields["principal_ref"]
        for e in result.entities
        if e.kind == "identity_mapping"
    }
    admin = f"{tmp_path / 't.yaml'}:Admin"
    assert refs == {"Nested": admin, "Decided": admin, "MayExist": None}


def test_properties_known_that_are_not_a_mapping_are_an_error(tmp_path):
    (tmp_path / "t.yaml").write_text(
        "Resources:\n"
        "  Listed:\n    Type: AWS::EKS::Cluster\n    Properties: [Name, x]\n"
        "  Named:\n    Type: AWS::EKS::Cluster\n    Properties: {Name: named}\n"
    )
    code, report, _ = scan_json("t.yaml", cwd=tmp_path, extra=("--select", "EKS101"))
    assert code == 2
    assert report["problems"] == [
        {
            "file": "t.yaml",
            "level": "error",
            "line": 4,
            "message": "Listed Properties: a list, not a mapping",
        }
    ]
    assert [(f["rule_id"], f["location"]["start_line"]) for f in report["findings"]] == [
        ("EKS101", 5)
    ]


MALFORMED_POLICIES = """\
Resources:
  AsString:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: shop
      PrincipalArn: arn:aws:iam::111122223333:role/as-string
      AccessPolicies: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
  AsMapping:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: shop
      PrincipalArn: arn:aws:iam::111122223333:role/as-mapping
      AccessPolicies:
        PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
        AccessScope: {Type: cluster}
  StringItem:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: shop
      PrincipalArn: arn:aws:iam::111122223333:role/string-item
      AccessPolicies:
        - arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
        - PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
          AccessScope: {Type: cluster}
  Written:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: shop
      PrincipalArn: arn:aws:iam::111122223333:role/written
      AccessPolicies:
        - PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
          AccessScope: {Type: cluster}
"""


def test_access_policies_not_a_list_of_mappings_are_an_error_and_the_rest_is_read(tmp_path):
    """CloudFormation refuses `AccessPolicies` that are not a list of mappings: one line
    names the file, the resource and what is wrong (exit 2), and the entries themselves and
    every well-formed policy are still read."""
    (tmp_path / "t.yaml").write_text(MALFORMED_POLICIES)
    code, report, _ = scan_json("t.yaml", cwd=tmp_path, extra=("--select", "EKS506"))
    assert code == 2
    assert report["problems"] == [
        {
            "file": "t.yaml",
            "level": "error",
            "line": 7,
            "message": "AsString AccessPolicies: a string, not a list of access policies",
        },
        {
            "file": "t.yaml",
            "level": "error",
            "line": 13,
            "message": "AsMapping AccessPolicies: a mapping, not a list of access policies",
        },
        {
            "file": "t.yaml",
            "level": "error",
            "line": 22,
            "message": "StringItem AccessPolicies[0]: a string, not an access policy (a mapping)",
        },
    ]
    assert [
        (f["rule_id"], f["location"]["start_line"], f["entity_key"].rsplit(":", 1)[-1])
        for f in report["findings"]
    ] == [
        ("EKS506", 23, "StringItem.AccessPolicies[1]"),
        ("EKS506", 31, "Written.AccessPolicies[0]"),
    ]
    entries = [e for e in run([tmp_path]).entities if e.kind == "identity_mapping"]
    assert [e.fields["address"] for e in entries] == [
        "AsString",
        "AsMapping",
        "StringItem",
        "Written",
    ]


LISTS_AND_TEMPLATES_NOT_KNOWN = """\
Parameters:
  Env: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Nodes:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: shop
      NodeRole: arn:aws:iam::111122223333:role/nodes
      AmiType: AL2_x86_64
      LaunchTemplate: !If [IsProd, {Id: !Ref Template}, !Ref AWS::NoValue]
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions: {HttpTokens: required, HttpPutResponseHopLimit: 1}
  Instance:
    Type: AWS::EC2::Instance
    Properties:
      LaunchTemplate: !If [IsProd, {LaunchTemplateId: !Ref Template}, !Ref AWS::NoValue]
  Cni:
    Type: AWS::EKS::Addon
    Properties:
      ClusterName: shop
      AddonName: vpc-cni
      PodIdentityAssociations: !If
        - IsProd
        - [{ServiceAccount: aws-node, RoleArn: arn:aws:iam::111122223333:role/cni}]
        - !Ref AWS::NoValue
  Proxy:
    Type: AWS::EKS::Addon
    Properties:
      ClusterName: shop
      AddonName: kube-proxy
      PodIdentityAssociations: {ServiceAccount: kube-proxy, RoleArn: arn:aws:iam::111122223333:role/proxy}
  Worker:
    Type: AWS::IAM::Role
    Properties:
      RoleName: worker
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {AWS: arn:aws:iam::111122223333:role/ci}, Action: sts:AssumeRole}
      Policies: !If
        - IsProd
        - [{PolicyName: all, PolicyDocument: {Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}}]
        - !Ref AWS::NoValue
      ManagedPolicyArns: arn:aws:iam::aws:policy/AdministratorAccess
"""


def test_launch_templates_and_lists_not_known_are_undecided_and_lists_known_wrongly_an_error(
    tmp_path,
):
    """Elsewhere in templates alike: a node group or an instance whose `LaunchTemplate` is not
    known may run its own options or EKS's (EC2's), not known; an add-on's
    `PodIdentityAssociations` and a role's `Policies` not known are one item not known, that
    stands for each they may hold (EKS705 undecided, the role's power not known); such lists
    known in another shape are an error naming the resource, and the rest is read."""
    (tmp_path / "t.yaml").write_text(LISTS_AND_TEMPLATES_NOT_KNOWN)
    code, report, _ = scan_json("t.yaml", cwd=tmp_path)
    assert code == 2
    assert report["problems"] == [
        {
            "file": "t.yaml",
            "level": "error",
            "line": 36,
            "message": "Proxy PodIdentityAssociations: a mapping, not a list of pod identity "
            "associations",
        },
        {
            "file": "t.yaml",
            "level": "error",
            "line": 48,
            "message": "Worker ManagedPolicyArns: a string, not a list of policy ARNs",
        },
    ]
    result = run([tmp_path], select={"EKS201", "EKS202", "EKS705"})
    findings, skipped = _outcomes(result)
    assert findings == []
    reason = ["condition IsProd is not known"]
    assert skipped == [
        ("EKS201", "Instance", 18, reason),
        ("EKS201", "Nodes", 6, reason),
        ("EKS202", "Instance", 18, reason),
        ("EKS202", "Nodes", 6, reason),
        ("EKS705", "Cni", 22, reason),
    ]
    (worker,) = [e for e in result.entities if e.kind == "iam_role"]
    assert [power.reason for power in worker.fields["aws_power"]] == reason * 2


def test_log_types_written_as_strings_are_an_error_not_logs_on(tmp_path):
    """CloudFormation's `EnabledTypes` are mappings (`- Type: audit`): a list of strings is
    refused, not a cluster that logs; its log types are not known."""
    (tmp_path / "t.yaml").write_text(
        "Resources:\n  Cluster:\n    Type: AWS::EKS::Cluster\n    Properties:\n"
        "      Name: shop\n      Logging:\n        ClusterLogging:\n"
        "          EnabledTypes: [audit, {Type: authenticator}]\n"
    )
    code, report, _ = scan_json("t.yaml", cwd=tmp_path, extra=("--select", "EKS103"))
    assert code == 2
    assert report["problems"] == [
        {
            "file": "t.yaml",
            "level": "error",
            "line": 8,
            "message": "Cluster Logging.ClusterLogging.EnabledTypes[0]: a string, not a log type "
            "(a mapping)",
        }
    ]
    assert [(u["rule_id"], u["reasons"]) for u in report["unknown"]] == [
        ("EKS103", ["Logging.ClusterLogging.EnabledTypes of Cluster is written wrongly"])
    ]


def test_what_other_resources_read_of_properties_behind_a_condition_is_what_branches_share(
    tmp_path,
):
    """`!GetAtt Role.Arn` of a role whose properties are an `!If` on a condition not decided
    is its ARN when both branches name it alike; a launch template reads the `NodeRole` of a
    node group written so."""
    (tmp_path / "t.yaml").write_text(
        "Parameters:\n  Env: {Type: String}\n"
        "Conditions:\n  IsProd: !Equals [!Ref Env, prod]\n"
        "Resources:\n"
        "  Admin:\n    Type: AWS::IAM::Role\n    Properties: !If\n"
        "      - IsProd\n      - {RoleName: admin, Description: prod}\n      - {RoleName: admin}\n"
        "  Entry:\n    Type: AWS::EKS::AccessEntry\n    Properties:\n"
        "      ClusterName: shop\n      PrincipalArn: !GetAtt Admin.Arn\n"
        "  Template:\n    Type: AWS::EC2::LaunchTemplate\n    Properties:\n"
        "      LaunchTemplateData: {MetadataOptions: {HttpTokens: required}}\n"
        "  Nodes:\n    Type: AWS::EKS::Nodegroup\n    Properties: !If\n"
        "      - IsProd\n"
        "      - {NodeRole: !GetAtt Admin.Arn, LaunchTemplate: {Id: !Ref Template}, Tags: {a: b}}\n"
        "      - {NodeRole: !GetAtt Admin.Arn, LaunchTemplate: {Id: !Ref Template}}\n"
    )
    entities = {e.fields.get("address"): e for e in run([tmp_path]).entities}
    assert entities["Entry"].fields["principal_arn"].text == (
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/admin"
    )
    (role,) = entities["Template"].fields["node_roles"]
    assert (role["role_ref"], role["via"]) == (f"{tmp_path / 't.yaml'}:Admin", "Nodes NodeRole")


def test_registry_cluster_roles_not_known_are_an_aws_auth_entry_not_known(tmp_path):
    """`AWSQS::EKS::Cluster` `KubernetesApiAccess.Roles` behind a condition not decided: one
    aws-auth entry not known stands for each it may hold (EKS501 undecided, not passed)."""
    (tmp_path / "t.yaml").write_text(
        "Parameters:\n  Env: {Type: String}\n"
        "Conditions:\n  IsProd: !Equals [!Ref Env, prod]\n"
        "Resources:\n  Cluster:\n    Type: AWSQS::EKS::Cluster\n    Properties:\n"
        "      Name: shop\n      KubernetesApiAccess:\n        Roles: !If\n"
        "          - IsProd\n"
        "          - [{Arn: 'arn:aws:iam::111122223333:role/admin', Groups: [system:masters]}]\n"
        "          - []\n"
    )
    _, skipped = _outcomes(run([tmp_path], select={"EKS501"}))
    assert skipped == [
        (
            "EKS501",
            "Cluster/KubernetesApiAccess/mapRoles[0]",
            11,
            ["condition IsProd is not known"],
        )
    ]
