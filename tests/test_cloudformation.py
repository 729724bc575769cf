"""CloudFormation templates and AWS CDK's synthesized ones: the intrinsic functions as far as
a template says, CloudFormation's defaults, the same entities in YAML short form, long form
and JSON, CDK's custom resources, and a broken template as an error when it clearly is one."""

from __future__ import annotations

import json

import pytest

from bounded import scan_json
from checks.model import LDict, Unknown
from checks.normalize.cfn_eval import REMOVED, Template
from checks.parse.yamlsafe import parse_yaml_file
from conftest import FIXTURES, cli, run

CDK_OUT = FIXTURES / "cdk" / "cdk.out"


def _template(text: str) -> Template:
    return Template(parse_yaml_file(text, intrinsics=lambda _doc: True)[0])


PARAMETERS = """
Parameters:
  Name: {Type: String, Default: shop}
  Env: {Type: String, Default: prod}
  NoDefault: {Type: String}
  Cidrs: {Type: CommaDelimitedList, Default: "10.0.0.0/8, 0.0.0.0/0"}
  Empty: {Type: "List<String>", Default: ""}
  FromSsm: {Type: "AWS::SSM::Parameter::Value<String>", Default: /eks/admin-cidr}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Equals [!Ref Name, shop]]
  Either: !Or [!Condition IsDev, !Equals [!Ref "AWS::Region", eu-west-1]]
  ByRegion: !Equals [!Ref "AWS::Region", eu-west-1]
Mappings:
  Sizes:
    prod: {Nodes: "3"}
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: admin
"""


@pytest.mark.parametrize(
    "written, value",
    [
        ("!Ref Name", "shop"),
        ("!Ref Cidrs", ["10.0.0.0/8", "0.0.0.0/0"]),
        ("!Select [0, !Ref Empty]", ""),
        ("!Sub ${Name}-eks", "shop-eks"),
        ("!Sub ['${Prefix}-${Name}', {Prefix: !Ref Env}]", "prod-shop"),
        ("!Sub 'echo ${!Literal}'", "echo ${Literal}"),
        ("!Join ['/', [a, !Ref Name, !Select [1, !Split [',', 'x,y,z']]]]", "a/shop/y"),
        ("!If [IsProd, a, b]", "a"),
        ("!If [IsDev, a, b]", "b"),
        ("!If [Both, a, b]", "a"),
        ("!FindInMap [Sizes, !Ref Env, Nodes]", "3"),
        ("!FindInMap [Sizes, dev, Nodes, {DefaultValue: '1'}]", "1"),
        ("{Fn::GetAtt: Role.Arn}", "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/admin"),
        ("!Ref Role", "admin"),
        ("!Ref NoDefault", "${NoDefault}"),
        ("!Ref FromSsm", "${FromSsm}"),  # the default names the SSM parameter, not its value
        (
            "!Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
        ),
        ("!Join ['', ['arn:', !Ref 'AWS::Partition', ':x']]", "arn:${AWS::Partition}:x"),
        ("!If [Either, a, b]", "${If.Either}"),
        ("!ImportValue shared-vpc", "${ImportValue}"),
        ("!GetAtt [Role, Arn]", "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/admin"),
        ("!Sub '${Role.Arn}/x'", "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/admin/x"),
        ("!GetAtt Role.RoleId", "${Role.RoleId}"),
    ],
)
def test_intrinsic_functions_resolve_as_far_as_the_template_says(written, value):
    template = _template(PARAMETERS + f"Outputs:\n  Out:\n    Value: {written}\n")
    node = parse_yaml_file(f"v: {written}\n", intrinsics=lambda _doc: True)[0]["v"]
    got = template.value(node)
    if isinstance(got, Unknown):
        assert got.text == value
    else:
        assert got == value


ROLE_PATHS = """
Parameters:
  Env: {Type: String, Default: prod}
  NoDefault: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  ByRegion: !Equals [!Ref "AWS::Region", eu-west-1]
Resources:
"""


@pytest.mark.parametrize(
    "path, arn",
    [
        ("", "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/admin"),
        ("Path: /team/", "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/team/admin"),
        (
            "Path: !If [IsProd, /team/, !Ref AWS::NoValue]",
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/team/admin",
        ),
        (
            "Path: !If [IsProd, !Ref AWS::NoValue, /team/]",
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/admin",
        ),
        (
            "Path: !Ref NoDefault",
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Role.Path}/admin",
        ),
        (
            "Path: !If [ByRegion, /a/, /b/]",
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Role.Path}/admin",
        ),
    ],
)
def test_a_roles_arn_has_its_path_only_when_the_path_is_known(path, arn):
    """A role's `Path` not known (a parameter without a default, a condition not decided)
    leaves the path of its `Fn::GetAtt Arn` not known, never AWS's default `/`."""
    template = _template(
        ROLE_PATHS + f"  Role:\n    Type: AWS::IAM::Role\n    Properties:\n"
        f"      RoleName: admin\n      {path}\n"
    )
    got = template.value({"Fn::GetAtt": ["Role", "Arn"]})
    assert (got.text, got.ref) == (arn, "Role")


def test_no_value_removes_the_property_and_unknown_keeps_the_resource_it_names():
    template = _template(PARAMETERS)
    node = parse_yaml_file(
        "a: !If [IsDev, x, !Ref 'AWS::NoValue']\nb: [1, !If [IsProd, !Ref 'AWS::NoValue', 2]]\n"
        "c: !GetAtt Role.Arn\n",
        intrinsics=lambda _doc: True,
    )[0]
    value = template.value(node)
    assert value == {"b": [1], "c": value["c"]}
    assert isinstance(value, LDict) and value.key_lines["b"] == (2, 2)
    role_arn = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/admin"
    assert (value["c"].text, value["c"].ref) == (role_arn, "Role")
    assert template.value({"Ref": "AWS::NoValue"}) is REMOVED
    assert template.condition("ByRegion").text == "${Equals}"


SHOP_YAML = """AWSTemplateFormatVersion: "2010-09-09"
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
        EndpointPrivateAccess: false
        PublicAccessCidrs: !Ref Cidrs
      Logging:
        ClusterLogging:
          EnabledTypes:
            - Type: api
      AccessConfig:
        AuthenticationMode: CONFIG_MAP
        BootstrapClusterCreatorAdminPermissions: true
  Nodes:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions:
          HttpTokens: required
          HttpPutResponseHopLimit: 2
"""
LONG_FORM = SHOP_YAML.replace(
    "RoleArn: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:role/eks",
    "RoleArn:\n        Fn::Sub: arn:${AWS::Partition}:iam::${AWS::AccountId}:role/eks",
).replace("PublicAccessCidrs: !Ref Cidrs", "PublicAccessCidrs:\n          Ref: Cidrs")


def _as_json(yaml_text: str) -> str:
    """The same template in JSON, one key per line as CDK writes it."""
    document = parse_yaml_file(yaml_text, intrinsics=lambda _doc: True)[0]
    return json.dumps(document, indent=1)


def _fields(path) -> dict:
    return {
        (e.kind, e.fields.get("name")): {
            k: (v.text if isinstance(v, Unknown) else v) for k, v in e.fields.items()
        }
        for e in run([path]).entities
    }


def test_short_form_long_form_and_json_are_the_same_template(tmp_path):
    spellings = {"short.yaml": SHOP_YAML, "long.yaml": LONG_FORM, "json.json": _as_json(SHOP_YAML)}
    seen = []
    for name, text in spellings.items():
        (tmp_path / name).write_text(text)
        fields = _fields(tmp_path / name)
        for value in fields.values():
            value["module_dir"] = None
        seen.append(fields)
    assert seen[0] == seen[1] == seen[2]
    cluster = seen[0][("cluster", "shop")]
    assert (cluster["public_access_cidrs"], cluster["enabled_log_types"]) == (
        ["0.0.0.0/0"],
        ["api"],
    )


def test_absent_properties_take_cloudformations_defaults(tmp_path):
    (tmp_path / "t.yaml").write_text(
        "Resources:\n  C:\n    Type: AWS::EKS::Cluster\n    Properties:\n"
        "      RoleArn: arn:aws:iam::111122223333:role/eks\n"
        "      ResourcesVpcConfig: {SubnetIds: [subnet-1]}\n"
    )
    (cluster,) = [e for e in run([tmp_path]).entities if e.kind == "cluster"]
    assert cluster.fields["endpoint_public_access"] is True
    assert cluster.fields["public_access_cidrs"] == ["0.0.0.0/0"]
    assert cluster.fields["authentication_mode"] == "CONFIG_MAP"
    assert cluster.defaulted["authentication_mode"] == "AWS default"
    assert cluster.fields["name"].text == "C"  # CloudFormation makes the name up


def test_a_resource_whose_condition_is_false_is_not_created(tmp_path):
    (tmp_path / "t.yaml").write_text(
        "Parameters:\n  Debug: {Type: String, Default: 'no'}\n"
        "Conditions:\n  WithDebug: !Equals [!Ref Debug, 'yes']\n"
        "  InIreland: !Equals [!Ref 'AWS::Region', eu-west-1]\n"
        "Resources:\n"
        "  Debug1:\n    Type: AWS::EC2::Instance\n    Condition: WithDebug\n"
        "    Properties: {MetadataOptions: {HttpTokens: optional}}\n"
        "  Maybe:\n    Type: AWS::EC2::Instance\n    Condition: InIreland\n"
        "    Properties: {MetadataOptions: {HttpTokens: optional}}\n"
    )
    found = [
        (f.rule_id, f.location.start_line) for f in run([tmp_path], select={"EKS201"}).findings
    ]
    assert found == [("EKS201", 14)]  # the one that may be created is read


def test_managed_node_group_without_launch_template_takes_what_eks_documents(tmp_path):
    (tmp_path / "t.yaml").write_text(
        "Resources:\n"
        "  Cluster:\n    Type: AWS::EKS::Cluster\n    Properties:\n      Version: '1.31'\n"
        "      RoleArn: r\n      ResourcesVpcConfig: {SubnetIds: [s]}\n"
        "  Al2:\n    Type: AWS::EKS::Nodegroup\n    Properties:\n"
        "      ClusterName: !Ref Cluster\n      NodeRole: r\n      Subnets: [s]\n"
        "      AmiType: AL2_ARM_64\n"
        "  Picked:\n    Type: AWS::EKS::Nodegroup\n    Properties:\n"
        "      ClusterName: !Ref Cluster\n      NodeRole: r\n      Subnets: [s]\n"
        "  Windows:\n    Type: AWS::EKS::Nodegroup\n    Properties:\n"
        "      ClusterName: !Ref Cluster\n      NodeRole: r\n      Subnets: [s]\n"
        "      AmiType: WINDOWS_CORE_2022_x86_64\n"
    )
    groups = {
        e.fields["address"]: e for e in run([tmp_path]).entities if e.kind == "instance_metadata"
    }
    al2 = groups["Al2"]
    assert (al2.fields["http_tokens"], al2.fields["hop_limit"]) == ("optional", 2)
    assert al2.defaulted["http_tokens"] == "EKS managed node group default (AmiType AL2_ARM_64)"
    picked = groups["Picked"]  # the cluster's 1.31: AL2023
    assert (picked.fields["http_tokens"], picked.fields["hop_limit"]) == ("required", 1)
    assert isinstance(groups["Windows"].fields["http_tokens"], Unknown)


# (template, line, rule) of every finding on the synthesized CDK app
CDK_FINDINGS = {
    ("EksV1AccessStack.template.json", 1067, "EKS506"),
    ("EksV1Stack.template.json", 8, "EKS801"),  # the account root to system:masters
    ("EksV1Stack.template.json", 11, "EKS407"),
    ("EksV1Stack.template.json", 911, "EKS507"),
    ("EksV1Stack.template.json", 911, "EKS508"),
    ("EksV1Stack.template.json", 955, "EKS101"),
    ("EksV1Stack.template.json", 956, "EKS102"),
    ("EksV1Stack.template.json", 959, "EKS103"),
    ("EksV1Stack.template.json", 1013, "EKS501"),
    ("EksV1Stack.template.json", 1013, "EKS502"),
    ("EksV1Stack.template.json", 1013, "EKS503"),
    ("EksV1Stack.template.json", 1013, "EKS505"),
    ("EksV1Stack.template.json", 1013, "EKS703"),
    ("EksV1Stack.template.json", 1330, "EKS602"),
    ("EksV2Stack.template.json", 665, "EKS508"),
    ("EksV2Stack.template.json", 704, "EKS102"),
    ("EksV2Stack.template.json", 705, "EKS101"),
    ("EksV2Stack.template.json", 767, "EKS506"),
    ("EksV2Stack.template.json", 823, "EKS502"),
    ("EksV2Stack.template.json", 834, "EKS801"),  # the account root to ClusterAdmin
    ("EksV2Stack.template.json", 837, "EKS407"),
    ("L1Stack.template.json", 342, "EKS103"),
    ("L1Stack.template.json", 364, "EKS101"),
    ("L1Stack.template.json", 392, "EKS506"),
    ("L1Stack.template.json", 425, "EKS502"),
    ("L1Stack.template.json", 448, "EKS402"),
    ("L1Stack.template.json", 470, "EKS406"),
    ("L1Stack.template.json", 498, "EKS305"),
    ("L1Stack.template.json", 504, "EKS802"),  # NodeLt's pods reach NodeRole's admin
    ("L1Stack.template.json", 572, "EKS802"),  # so do those of the template EKS makes (AL2)
    ("L1Stack.template.json", 510, "EKS202"),
    ("L1Stack.template.json", 511, "EKS201"),
    ("L1Stack.template.json", 575, "EKS201"),
    ("L1Stack.template.json", 575, "EKS202"),
    ("L1Stack.template.json", 602, "EKS509"),
    ("L1Stack.template.json", 615, "EKS705"),
    ("ShopStack.template.json", 875, "EKS507"),
    ("ShopStack.template.json", 875, "EKS508"),
    ("ShopStack.template.json", 919, "EKS101"),
    ("ShopStack.template.json", 920, "EKS102"),
    ("ShopStack.template.json", 923, "EKS103"),
    ("ShopStack.template.json", 1051, "EKS202"),
}


def test_the_synthesized_cdk_app_gives_these_findings():
    result = run([CDK_OUT])
    assert result.problems == []
    found = {
        (f.location.file.rsplit("/", 1)[-1], f.location.start_line, f.rule_id)
        for f in result.findings
    }
    assert found == CDK_FINDINGS


def test_cdk_v1_aws_auth_and_irsa_trust_are_read():
    """aws-eks v1's aws-auth is a Manifest built with Fn::Join around role ARNs, and the IRSA
    role's trust condition is a Custom::AWSCDKCfnJson's Value: both are read."""
    entities = run([CDK_OUT / "EksV1Stack.template.json"]).entities
    mappings = sorted(
        (
            e.fields["map"],
            str(getattr(e.fields["principal_arn"], "text", e.fields["principal_arn"])),
        )
        for e in entities
        if e.kind == "identity_mapping"
    )
    assert ("mapRoles", "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/eks-masters") in mappings
    assert ("mapUsers", "arn:aws:iam::111122223333:user/ops-alice") in mappings
    (trust,) = [e for e in entities if e.kind == "trust_statement" and "AppSa" in e.key]
    subjects = [c for c in trust.fields["conditions"] if c["key"].endswith(":sub")]
    assert [c["values"] for c in subjects] == [["system:serviceaccount:prod:app"]]


BROKEN = {
    # clearly CloudFormation: an error with the line
    "version.yaml": ("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  R: [\n", "error", 3),
    "typed.yaml": (
        "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties: {a: [}\n",
        "error",
        4,
    ),
    "cdk.template.json": (
        '{\n "Resources": {\n  "R": {\n   "Type": "AWS::EKS::Cluster",\n  }\n}\n',
        "error",
        5,
    ),
    "two-tags.yaml": (
        "Resources:\n  R:\n    Type: AWS::EC2::Instance\n    Properties:\n      UserData: !Base64 !Sub x\n",
        "error",
        5,
    ),
    # someone else's YAML and JSON
    "serverless.yml": ("Resources:\n  Bucket: !Ref X\n  [\n", "note", 3),
    "app.json": ('{"Resources": {"x": 1}, ]', "note", 1),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_template_is_an_error_when_it_is_clearly_one(tmp_path, name):
    text, level, line = BROKEN[name]
    (tmp_path / name).write_text(text)
    code, report, _ = scan_json(name, cwd=tmp_path)
    ((problem),) = report["problems"]
    assert (problem["level"], problem["line"]) == (level, line), problem
    assert code == (2 if level == "error" else 0)


def test_a_manifest_with_cloudformation_tags_is_still_refused(tmp_path):
    (tmp_path / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: !Sub '${Env}-app'\n"
    )
    code, report, _ = scan_json("sa.yaml", cwd=tmp_path)
    assert report["problems"] == [
        {"file": "sa.yaml", "level": "error", "line": 4, "message": "unsupported YAML tag !Sub"}
    ]
    assert code == 2


def test_a_template_whose_values_would_take_forever_is_bounded(tmp_path):
    """Every output asks for the whole mapping again: the evaluation budget ends it."""
    items = ", ".join(f"v{i}" for i in range(5000))
    outputs = "".join(
        f"  R{i}:\n    Type: AWS::IAM::Role\n    Properties:\n"
        f"      Tags: !FindInMap [Big, a, b]\n      AssumeRolePolicyDocument: {{}}\n"
        for i in range(600)
    )
    (tmp_path / "t.yaml").write_text(
        f"Mappings:\n  Big:\n    a:\n      b: [{items}]\nResources:\n{outputs}"
    )
    code, report, _ = scan_json("t.yaml", cwd=tmp_path)
    assert code == 0
    assert report["problems"] == [
        {
            "file": "t.yaml",
            "level": "note",
            "line": 1,
            "message": "the template's values take too long to work out: those left are unknown",
        }
    ]


def test_large_strings_computed_again_and_again_are_bounded(tmp_path):
    """A 100 KB parameter pasted into thousands of strings: the characters count too."""
    big = "x" * 100_000
    resources = "".join(
        f"  R{i}:\n    Type: AWS::IAM::Role\n    Properties:\n"
        f"      Description: !Sub '${{Big}}${{Big}}${{Big}}'\n      AssumeRolePolicyDocument: {{}}\n"
        for i in range(3000)
    )
    (tmp_path / "t.yaml").write_text(
        f"Parameters:\n  Big:\n    Type: String\n    Default: {big}\nResources:\n{resources}"
    )
    code, report, _ = scan_json("t.yaml", cwd=tmp_path)
    assert (code, [p["level"] for p in report["problems"]]) == (0, ["note"])


def test_a_trust_policy_written_as_fn_sub_json_is_read(tmp_path):
    """The common IRSA pattern: the whole policy a `!Sub` JSON string, the cluster's issuer
    id a parameter; its wildcard subject is found on the line of its condition."""
    issuer = "oidc.eks.eu-west-1.amazonaws.com/id/${ClusterId}"
    (tmp_path / "t.yaml").write_text(
        "Parameters:\n  ClusterId: {Type: String}\n"
        "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      AssumeRolePolicyDocument: !Sub |\n"
        '        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",\n'
        f'          "Principal": {{"Federated": "arn:aws:iam::111122223333:oidc-provider/{issuer}"}},\n'
        '          "Action": "sts:AssumeRoleWithWebIdentity",\n'
        f'          "Condition": {{"StringLike": {{"{issuer}:sub": "system:serviceaccount:*"}}}}}}]}}\n'
    )
    found = run([tmp_path], select={"EKS402", "EKS403"}).findings
    assert [(f.rule_id, f.location.start_line) for f in found] == [("EKS403", 11)]


def test_a_mapping_written_as_an_undecided_fn_if_leaves_what_it_holds_unknown(tmp_path):
    """Not the defaults: a `ResourcesVpcConfig` chosen by the region says nothing about the
    endpoint."""
    (tmp_path / "t.yaml").write_text(
        "Conditions:\n  InIreland: !Equals [!Ref 'AWS::Region', eu-west-1]\n"
        "Resources:\n"
        "  ByRegion:\n    Type: AWS::EKS::Cluster\n    Properties:\n"
        "      Name: by-region\n      RoleArn: r\n"
        "      ResourcesVpcConfig: !If [InIreland, {EndpointPublicAccess: false}, {}]\n"
        "      Logging: !If [InIreland, {ClusterLogging: {EnabledTypes: [{Type: audit}]}}, {}]\n"
        "  Whole:\n    Type: AWS::EKS::Cluster\n"
        "    Properties: !If [InIreland, {Name: a, RoleArn: r}, {Name: b, RoleArn: r}]\n"
        "  Options:\n    Type: AWS::EC2::LaunchTemplate\n    Properties:\n"
        "      LaunchTemplateData:\n"
        "        MetadataOptions: !If [InIreland, {HttpTokens: required}, !Ref 'AWS::NoValue']\n"
    )
    result = run([tmp_path])
    # `Whole` is a cluster public to the world, without logs, whichever branch its properties
    # take (tests/test_cloudformation_branches.py)
    assert [
        (f.rule_id, f.entity_key.rsplit(":", 1)[-1])
        for f in result.findings
        if f.rule_id in ("EKS101", "EKS103", "EKS201")
    ] == [("EKS101", "Whole"), ("EKS103", "Whole")]
    (cluster,) = [
        e for e in result.entities if e.kind == "cluster" and e.fields["address"] == "ByRegion"
    ]
    assert cluster.fields["name"] == "by-region"
    assert isinstance(cluster.fields["endpoint_public_access"], Unknown)
    assert isinstance(cluster.fields["enabled_log_types"], Unknown)


def test_a_trust_of_the_templates_oidc_provider_knows_its_issuer(tmp_path):
    """`Ref` to an AWS::IAM::OIDCProvider whose Url is the cluster's issuer: an EKS issuer,
    whose wildcard subject EKS403 judges (unknown before: any issuer, GitHub's too)."""
    (tmp_path / "t.yaml").write_text(
        "Resources:\n"
        "  Cluster:\n    Type: AWS::EKS::Cluster\n    Properties:\n"
        "      RoleArn: r\n      ResourcesVpcConfig: {SubnetIds: [s]}\n"
        "  Provider:\n    Type: AWS::IAM::OIDCProvider\n    Properties:\n"
        "      Url: !GetAtt Cluster.OpenIdConnectIssuerUrl\n      ClientIdList: [sts.amazonaws.com]\n"
        "  Role:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      AssumeRolePolicyDocument: !Sub\n"
        "        - |\n"
        '          {"Statement": [{"Effect": "Allow", "Principal": {"Federated": "${Provider}"},\n'
        '            "Action": "sts:AssumeRoleWithWebIdentity",\n'
        '            "Condition": {"StringLike": {"${Issuer}:sub": "system:serviceaccount:*"}}}]}\n'
        "        - Issuer: !Select [1, !Split ['//', !GetAtt Cluster.OpenIdConnectIssuerUrl]]\n"
    )
    found = run([tmp_path], select={"EKS402", "EKS403", "EKS405", "EKS408"}).findings
    assert [(f.rule_id, f.location.start_line) for f in found] == [("EKS403", 19)]


NODE_ROLES = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  NodeRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: ec2.amazonaws.com}
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - arn:aws:iam::aws:policy/AdministratorAccess
  Profile:
    Type: AWS::IAM::InstanceProfile
    Properties:
      Roles: [!Ref NodeRole]
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions: {HttpTokens: required, HttpPutResponseHopLimit: 2}
  Nodes:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: c
      NodeRole: !GetAtt NodeRole.Arn
      Subnets: [s]
      LaunchTemplate: {Id: !Ref Template}
  Bastion:
    Type: AWS::EC2::Instance
    Properties:
      IamInstanceProfile: !Ref Profile
      MetadataOptions: {HttpTokens: required, HttpPutResponseHopLimit: 1}
  Lonely:
    Type: AWS::EC2::Instance
    Properties:
      IamInstanceProfile: someone-elses-profile
      MetadataOptions: {HttpTokens: required}
  Bare:
    Type: AWS::EC2::Instance
    Properties:
      MetadataOptions: {HttpTokens: required}
"""


def test_nodes_carry_the_roles_of_their_node_group_or_instance_profile(tmp_path):
    (tmp_path / "t.yaml").write_text(NODE_ROLES)
    result = run([tmp_path])
    roles = {
        e.fields["address"]: [
            (r["role_ref"], r["via"], r["start_line"], getattr(r["role"], "text", r["role"]))
            for r in e.fields["node_roles"]
        ]
        for e in result.entities
        if e.kind == "instance_metadata"
    }
    t = str(tmp_path / "t.yaml")
    assert roles["Template"] == [
        (
            f"{t}:NodeRole",
            "Nodes NodeRole",
            26,
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${NodeRole}",
        )
    ]
    assert roles["Bastion"] == [(f"{t}:NodeRole", "instance profile Profile", 32, "${NodeRole}")]
    assert roles["Lonely"] == [
        (None, "IamInstanceProfile someone-elses-profile", 37, "the role of someone-elses-profile")
    ]
    assert roles["Bare"] == []
    # the launch template's hop limit 2 lets pods reach the node group's admin role
    eks802 = [(f.location.start_line, f.message) for f in result.findings if f.rule_id == "EKS802"]
    assert eks802 == [(17, "Template: its pods get AWS admin as role NodeRole")]


def test_a_block_ends_at_its_last_line_not_at_the_key_that_follows_it(tmp_path):
    """PyYAML ends a block mapping or sequence where the next, less indented key starts (blank
    lines between them included): a block's last line is its last child's."""
    (tmp_path / "role.yaml").write_text(
        "Resources:\n"
        "  Admin:\n"
        "    Type: AWS::IAM::Role\n"
        "    Properties:\n"
        "      AssumeRolePolicyDocument:\n"
        "        Statement:\n"
        "          - Effect: Allow\n"
        "            Principal:\n"
        "              AWS: arn:aws:iam::123456789012:root\n"
        "            Action:\n"
        "              - sts:AssumeRole\n"
        "\n"
        "  Queue:\n"
        "    Type: AWS::SQS::Queue\n"
    )
    result = run([tmp_path], select=["EKS407"])
    assert [(f.rule_id, f.location.start_line, f.location.end_line) for f in result.findings] == [
        ("EKS407", 8, 9)
    ]
    (statement,) = [e for e in result.entities if e.kind == "trust_statement"]
    assert (statement.location.start_line, statement.location.end_line) == (7, 11)
    documents = parse_yaml_file((tmp_path / "role.yaml").read_text())
    assert documents[0]["Resources"].key_lines["Admin"] == (2, 11)


def test_a_policy_written_as_a_json_string_is_located_where_its_lines_are(tmp_path):
    """A trust policy as a block scalar, plain or `!Sub` (short or list form), has its
    statements on the file's lines; a one-line JSON string on the property's line."""
    statement = (
        '{{"Statement": [{{\n  "Effect": "Allow",\n'
        '  "Principal": {{"AWS": "arn:aws:iam::{account}:root"}},\n'
        '  "Action": "sts:AssumeRole"}}]}}\n'
    )

    def block(text: str) -> str:
        return "".join("          " + line + "\n" for line in text.splitlines())

    (tmp_path / "t.yaml").write_text(
        "Resources:\n"
        "  Plain:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      AssumeRolePolicyDocument: |\n"
        + block(statement.format(account="123456789012"))
        + "  Sub:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      AssumeRolePolicyDocument: !Sub |\n"
        + block(statement.format(account="${AWS::AccountId}"))
        + "  SubList:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      AssumeRolePolicyDocument: !Sub\n        - |\n"
        + block(statement.format(account="${Account}"))
        + "        - Account: '123456789012'\n"
        "  OneLine:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      AssumeRolePolicyDocument: '"
        + statement.format(account="123456789012").replace("\n", "")
        + "'\n"
    )
    found = run([tmp_path], select={"EKS407"}).findings
    assert sorted((f.location.start_line, f.message.split()[1]) for f in found) == [
        (8, "Plain"),
        (16, "Sub"),
        (25, "SubList"),
        (31, "OneLine"),
    ]


SETTINGS_TEMPLATE = """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      Name: shop
      RoleArn: arn:aws:iam::111122223333:role/eks
      ResourcesVpcConfig:
        SubnetIds: [subnet-1]
        EndpointPrivateAccess: false
      AccessConfig:
        AuthenticationMode: CONFIG_MAP
        BootstrapClusterCreatorAdminPermissions: true
  NodeTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        MetadataOptions:
          HttpTokens: optional
          HttpPutResponseHopLimit: 2
  Okta:
    Type: AWS::EKS::IdentityProviderConfig
    Properties:
      ClusterName: shop
      Type: OIDC
      IdentityProviderConfigName: okta
      Oidc:
        ClientId: kubernetes
        IssuerUrl: https://acme.okta.com
        GroupsClaim: groups
"""
SETTING_RULES = {"EKS102", "EKS201", "EKS202", "EKS507", "EKS508", "EKS509"}


def test_messages_name_the_properties_as_the_template_writes_them(tmp_path):
    # a CloudFormation user is told which property of the template to change
    (tmp_path / "stack.yaml").write_text(SETTINGS_TEMPLATE)
    found = sorted(
        (f.rule_id, f.location.start_line, f.message)
        for f in run([tmp_path], select=SETTING_RULES).findings
    )
    assert found == [
        (
            "EKS102",
            10,
            "cluster shop has ResourcesVpcConfig.EndpointPrivateAccess = false: nodes reach the "
            "API server through the public endpoint",
        ),
        (
            "EKS201",
            19,
            "NodeTemplate has LaunchTemplateData.MetadataOptions.HttpTokens = optional: IMDSv1 "
            "hands out the node role's credentials to any request",
        ),
        (
            "EKS202",
            20,
            "NodeTemplate sets LaunchTemplateData.MetadataOptions.HttpPutResponseHopLimit = 2 "
            "(more than 1): pods can reach the node role's credentials",
        ),
        (
            "EKS507",
            12,
            "cluster shop has AccessConfig.AuthenticationMode = CONFIG_MAP: access is managed "
            "only through the aws-auth ConfigMap",
        ),
        (
            "EKS508",
            13,
            "cluster shop gives its creator permanent cluster-admin access "
            "(AccessConfig.BootstrapClusterCreatorAdminPermissions = true)",
        ),
        (
            "EKS509",
            30,
            "identity provider okta maps groups claim groups without a Oidc.GroupsPrefix: "
            "its group names land in RBAC as they are",
        ),
    ]


def test_cdk_messages_name_the_custom_resources_config_and_the_ami_type():
    # CDK's cluster resource spells its Config as the EKS API does; the launch template EKS
    # creates for a node group is decided by the node group's AmiType
    result = run([CDK_OUT], select=SETTING_RULES)
    found = {
        (f.location.file.rsplit("/", 1)[-1], f.location.start_line, f.rule_id): f.message
        for f in result.findings
    }
    assert found[("EksV1Stack.template.json", 956, "EKS102")] == (
        "cluster cdk-v1 has Config.resourcesVpcConfig.endpointPrivateAccess = false: nodes "
        "reach the API server through the public endpoint"
    )
    assert found[("EksV1Stack.template.json", 911, "EKS507")] == (
        "cluster cdk-v1 has Config.accessConfig.authenticationMode = CONFIG_MAP: access is "
        "managed only through the aws-auth ConfigMap"
    )
    assert found[("EksV1Stack.template.json", 911, "EKS508")] == (
        "cluster cdk-v1 gives its creator permanent cluster-admin access "
        "(Config.accessConfig.bootstrapClusterCreatorAdminPermissions = true)"
    )
    assert found[("L1Stack.template.json", 575, "EKS201")] == (
        "NodesDefaultLt (the launch template EKS creates) has AmiType AL2_x86_64, so "
        "http_tokens = optional: IMDSv1 hands out the node role's credentials to any request"
    )
    assert found[("L1Stack.template.json", 575, "EKS202")] == (
        "NodesDefaultLt (the launch template EKS creates) sets AmiType AL2_x86_64, so "
        "http_put_response_hop_limit = 2 (more than 1): pods can reach the node role's "
        "credentials"
    )


POLICIES_NOT_KNOWN = """Parameters:
  Policies: {Type: String}
Conditions:
  InIreland: !Equals [!Ref 'AWS::Region', eu-west-1]
Resources:
  ByRegion:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: shop
      PrincipalArn: arn:aws:iam::111122223333:role/by-region
      AccessPolicies: !If
        - InIreland
        - [{PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy}]
        - [{PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy}]
  Passed:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: shop
      PrincipalArn: arn:aws:iam::111122223333:role/passed
      AccessPolicies: !Ref Policies
  OneItem:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: shop
      PrincipalArn: arn:aws:iam::111122223333:role/one-item
      AccessPolicies:
        - PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy
          AccessScope: {Type: cluster}
        - !ImportValue shared-policy
  ScopeOnly:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: shop
      PrincipalArn: arn:aws:iam::111122223333:role/scope-only
      AccessPolicies:
        - PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy
          AccessScope: !If [InIreland, {Type: cluster}, {Type: namespace, Namespaces: [shop]}]
"""


def test_access_policies_not_known_are_undecided_not_absent(tmp_path):
    """`AccessPolicies` behind a condition not decided (whichever its branches hold, as every
    `Fn::If` is), a parameter without a default, or one item not known: an association whose
    policy and scope are not known, where the value is written, so EKS506 and EKS511 are
    undecided for its reason; the known items beside it are read as written."""
    (tmp_path / "t.yaml").write_text(POLICIES_NOT_KNOWN)
    result = run([tmp_path], select={"EKS506", "EKS511"})
    assert [(f.rule_id, f.location.start_line) for f in result.findings] == [("EKS506", 27)]
    assert sorted((s.location.start_line, s.rule_id, s.reasons) for s in result.skipped) == [
        (11, "EKS506", ["condition InIreland is not known"]),
        (11, "EKS511", ["condition InIreland is not known"]),
        (20, "EKS506", ["parameter Policies has no default"]),
        (20, "EKS511", ["parameter Policies has no default"]),
        (29, "EKS506", ["Fn::ImportValue is known only when the stack is created"]),
        (29, "EKS511", ["Fn::ImportValue is known only when the stack is created"]),
        (36, "EKS511", ["condition InIreland is not known"]),
    ]
    associations = {
        e.key.rsplit(":", 1)[-1]: (
            e.links["access_entry"],
            *(getattr(e.fields[f], "reason", e.fields[f]) for f in ("policy_arn", "scope_type")),
        )
        for e in result.entities
        if e.kind == "access_policy_association"
    }
    entry = f"cloudformation:{tmp_path / 't.yaml'}:"
    assert associations == {
        'ByRegion.AccessPolicies["(not known)"]': (
            [f"{entry}ByRegion"],
            "condition InIreland is not known",
            "condition InIreland is not known",
        ),
        'Passed.AccessPolicies["(not known)"]': (
            [f"{entry}Passed"],
            "parameter Policies has no default",
            "parameter Policies has no default",
        ),
        "OneItem.AccessPolicies[0]": (
            [f"{entry}OneItem"],
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            "cluster",
        ),
        "OneItem.AccessPolicies[1]": (
            [f"{entry}OneItem"],
            "Fn::ImportValue is known only when the stack is created",
            "Fn::ImportValue is known only when the stack is created",
        ),
        "ScopeOnly.AccessPolicies[0]": (
            [f"{entry}ScopeOnly"],
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
            "condition InIreland is not known",
        ),
    }
    # the access graph keeps each as a hop not known, where the value is written
    code, out, err = cli(
        "access", str(tmp_path), "--show-unknown", "--format", "json", "--no-cache"
    )
    assert code == 0, err
    assert [
        (
            p["entry"]["label"].split("/")[1].split(" ")[0],
            [h["location"]["start_line"] for h in p["path"]],
        )
        for g in json.loads(out)["groups"]
        for p in g["paths"]
        if not p["known"]
    ] == [("by-region", [10, 11]), ("passed", [19, 20]), ("scope-only", [34, 36])]


POLICY_ROLES_NOT_KNOWN = """\
Parameters:
  RoleNames: {Type: CommaDelimitedList}
Resources:
  NodeRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: ec2.amazonaws.com}
            Action: sts:AssumeRole
  Profile:
    Type: AWS::IAM::InstanceProfile
    Properties:
      Roles: [!Ref NodeRole]
  Node:
    Type: AWS::EC2::Instance
    Properties:
      IamInstanceProfile: !Ref Profile
      MetadataOptions: {HttpTokens: optional}
  Admin:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: admin
      Roles: !Ref RoleNames
      PolicyDocument:
        Statement:
          - {Effect: Allow, Action: '*', Resource: '*'}
  IamWrite:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      ManagedPolicyName: iam-write
      Roles: !Ref RoleNames
      PolicyDocument:
        Statement:
          - {Effect: Allow, Action: 'iam:*', Resource: '*'}
  ReadOnly:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: read-only
      Roles: !Ref RoleNames
      PolicyDocument:
        Statement:
          - {Effect: Allow, Action: 's3:Get*', Resource: '*'}
"""


def test_a_policy_whose_roles_are_not_known_leaves_each_roles_power_undecided(tmp_path):
    """`Roles: !Ref RoleNames` (a parameter without a default): the policy may be attached to
    any role, the node role among them, so EKS802 is undecided, not passed; a policy that
    grants neither admin nor IAM writes changes nothing."""
    (tmp_path / "t.yaml").write_text(POLICY_ROLES_NOT_KNOWN)
    result = run([tmp_path], select={"EKS802"})
    assert result.findings == []
    assert [(s.rule_id, s.location.start_line, s.reasons) for s in result.skipped] == [
        ("EKS802", 16, ["the roles policy admin is attached to are not known"])
    ]
    made = sorted(
        (e.kind, e.key.rsplit(":", 1)[-1], e.location.start_line)
        for e in result.entities
        if e.kind in ("iam_policy", "iam_policy_attachment")
    )
    assert made == [
        ("iam_policy", 'Admin/Roles["(not known)"]', 21),
        ("iam_policy", "IamWrite", 29),
        ("iam_policy", 'ReadOnly/Roles["(not known)"]', 37),
        ("iam_policy_attachment", 'IamWrite/Roles["(not known)"]', 33),
    ]
    (role,) = [e for e in result.entities if e.kind == "iam_role"]
    assert [getattr(p, "reason", p) for p in role.fields["aws_power"]] == [
        "the roles policy admin is attached to are not known"
    ]


def test_policy_roles_of_the_wrong_kind_are_an_error(tmp_path):
    (tmp_path / "t.yaml").write_text(
        POLICY_ROLES_NOT_KNOWN.replace("Roles: !Ref RoleNames", "Roles: node-role", 1)
    )
    code, out, err = cli("scan", str(tmp_path), "--no-cache", "--select", "EKS802")
    assert code == 2
    assert (
        f"{tmp_path / 't.yaml'}:25  error  Admin Roles: a string, not a list of role names" in out
    )


def test_access_settings_of_the_wrong_kind_are_an_error_and_not_known(tmp_path):
    """CloudFormation refuses `AccessConfig`, an `AccessScope` that is not a mapping, or
    `KubernetesGroups` that are not a list: each is an error naming the property, and what it
    would say is not known (EKS507, EKS508 and EKS511 undecided), never EKS's defaults."""
    (tmp_path / "t.yaml").write_text(
        "Resources:\n"
        "  C:\n"
        "    Type: AWS::EKS::Cluster\n"
        "    Properties:\n"
        "      Name: shop\n"
        "      RoleArn: arn:aws:iam::111122223333:role/eks\n"
        "      ResourcesVpcConfig: {SubnetIds: [subnet-1]}\n"
        "      AccessConfig:\n"  # 8
        "        - AuthenticationMode: API\n"
        "  E:\n"  # 10
        "    Type: AWS::EKS::AccessEntry\n"
        "    Properties:\n"
        "      ClusterName: shop\n"
        "      PrincipalArn: arn:aws:iam::111122223333:role/dev\n"
        "      KubernetesGroups: admins\n"  # 15
        "      AccessPolicies:\n"
        "        - PolicyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy\n"
        "          AccessScope: cluster\n"  # 18
    )
    result = run([tmp_path], select={"EKS507", "EKS508", "EKS511"})
    file = str(tmp_path / "t.yaml")
    assert sorted((p.file, p.line, p.level, p.message) for p in result.problems) == [
        (file, 8, "error", "C AccessConfig: a list, not a mapping"),
        (file, 15, "error", "E KubernetesGroups: a string, not a list of group names"),
        (file, 18, "error", "E AccessPolicies[0].AccessScope: a string, not a mapping"),
    ]
    assert result.findings == []
    assert sorted((s.rule_id, s.location.start_line, s.reasons) for s in result.skipped) == [
        ("EKS507", 2, ["AccessConfig of C is written wrongly"]),
        ("EKS508", 2, ["AccessConfig of C is written wrongly"]),
        ("EKS511", 17, ["AccessPolicies[0].AccessScope of E is written wrongly"]),
    ]
    (entry,) = [e for e in result.entities if e.kind == "identity_mapping"]
    assert entry.fields["groups"].reason == "KubernetesGroups of E is written wrongly"


def test_a_manifest_not_known_is_a_note_not_silence(tmp_path):
    """A `Manifest` behind a condition not decided or imported from another stack: the
    objects it applies are not known, so the scan says so, where it is written, as it does
    of a manifest not known that does not parse; one known to be empty says nothing."""
    (tmp_path / "t.yaml").write_text(
        "Parameters:\n"
        "  Env: {Type: String}\n"
        "Conditions:\n"
        "  Prod: !Equals [!Ref Env, prod]\n"
        "Resources:\n"
        "  ByCondition:\n"
        "    Type: Custom::AWSCDK-EKS-KubernetesResource\n"
        "    Properties:\n"
        "      ServiceToken: x\n"
        '      Manifest: !If [Prod, \'[{"apiVersion": "v1", "kind": "Secret"}]\', \'[]\']\n'
        "  Imported:\n"
        "    Type: AWSQS::Kubernetes::Resource\n"
        "    Properties:\n"
        "      Manifest: !ImportValue shared-manifest\n"  # 14
        "  Empty:\n"
        "    Type: Custom::AWSCDK-EKS-KubernetesResource\n"
        "    Properties:\n"
        "      ServiceToken: x\n"
        "      Manifest: '[]'\n"
    )
    result = run([tmp_path])
    file = str(tmp_path / "t.yaml")
    assert sorted((p.file, p.line, p.level, p.message) for p in result.problems) == [
        (
            file,
            10,
            "note",
            "ByCondition Manifest: condition Prod is not known: the Kubernetes objects it "
            "applies are not checked",
        ),
        (
            file,
            14,
            "note",
            "Imported Manifest: Fn::ImportValue is known only when the stack is created: the "
            "Kubernetes objects it applies are not checked",
        ),
    ]
