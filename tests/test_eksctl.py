"""eksctl ClusterConfig files read as eksctl builds them: a fully private cluster's endpoints,
the metadata options of the launch templates eksctl writes (and the ones it does not write),
and where each node group of the file begins and ends."""

from __future__ import annotations

import pytest

from conftest import run

ENDPOINT_AND_IMDS = ("EKS101", "EKS102", "EKS201", "EKS202")


def _scan(tmp_path, text: str, select=ENDPOINT_AND_IMDS):
    (tmp_path / "cluster.yaml").write_text(text)
    return run([tmp_path], select=set(select))


def _found(result) -> list[tuple[str, int, int, str]]:
    return sorted(
        (f.rule_id, f.location.start_line, f.location.end_line, f.message) for f in result.findings
    )


def _undecided(result) -> list[tuple[str, set[str]]]:
    return sorted((s.rule_id, set(s.reasons)) for s in result.skipped)


HEADER = """apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: vault
  region: eu-west-1
"""


def test_a_fully_private_cluster_has_no_public_endpoint(tmp_path):
    # eksctl turns the public endpoint off at the end of `create cluster` and refuses
    # vpc.clusterEndpoints beside privateCluster.enabled
    result = _scan(tmp_path, HEADER + "privateCluster:\n  enabled: true\n")
    assert _found(result) == []
    (cluster,) = [e for e in result.entities if e.kind == "cluster"]
    assert (
        cluster.fields["endpoint_public_access"],
        cluster.fields["endpoint_private_access"],
    ) == (
        False,
        True,
    )


def test_a_private_cluster_that_is_not_enabled_keeps_eksctls_public_endpoint(tmp_path):
    result = _scan(tmp_path, HEADER + "privateCluster:\n  enabled: false\n")
    assert [(rule, start) for rule, start, _, _ in _found(result)] == [
        ("EKS101", 1),
        ("EKS102", 1),
    ]


def test_a_control_plane_on_outposts_has_only_a_private_endpoint(tmp_path):
    result = _scan(
        tmp_path,
        HEADER + "outpost:\n  controlPlaneOutpostARN: arn:aws:outposts:eu-west-1:1:outpost/op-1\n",
    )
    assert _found(result) == []


def test_a_managed_node_group_on_its_own_launch_template_has_metadata_options_not_known(tmp_path):
    result = _scan(
        tmp_path,
        HEADER
        + "vpc:\n  clusterEndpoints: {publicAccess: false, privateAccess: true}\n"
        + "managedNodeGroups:\n"
        + "  - name: given\n"
        + "    launchTemplate:\n"
        + "      id: lt-0123\n"
        + "  - name: built\n"
        + "    instanceType: m5.large\n",
    )
    assert _found(result) == [
        (
            "EKS202",
            12,
            13,
            "eksctl managedNodeGroups built sets no disablePodIMDS: true, so its launch "
            "template's http_put_response_hop_limit = 2 (more than 1): pods can reach the node "
            "role's credentials",
        )
    ]
    reason = "the metadata options of launch template lt-0123, which eksctl does not write"
    assert _undecided(result) == [("EKS201", {reason}), ("EKS202", {reason})]


def test_disabling_pod_imds_also_requires_tokens(tmp_path):
    # eksctl writes http_tokens = required when either disableIMDSv1 or disablePodIMDS is on
    result = _scan(
        tmp_path,
        HEADER
        + "vpc:\n  clusterEndpoints: {publicAccess: false, privateAccess: true}\n"
        + "nodeGroups:\n"
        + "  - name: closed\n"
        + "    disableIMDSv1: false\n"
        + "    disablePodIMDS: true\n"
        + "  - name: open\n"
        + "    disableIMDSv1: false\n",
    )
    assert [(rule, start, end) for rule, start, end, _ in _found(result)] == [
        ("EKS201", 13, 13),
        ("EKS202", 12, 13),
    ]


def test_a_node_group_ends_on_its_own_last_line(tmp_path):
    result = _scan(
        tmp_path,
        HEADER
        + "vpc:\n  clusterEndpoints: {publicAccess: false, privateAccess: true}\n"
        + "nodeGroups:\n"
        + "  - name: first\n"
        + "    instanceType: m5.large\n"
        + "\n"
        + "    # the second group\n"
        + "  - name: second\n"
        + "    labels:\n"
        + "      tier: back\n"
        + "\n",
        select=("EKS202",),
    )
    assert [(start, end) for _, start, end, _ in _found(result)] == [(9, 10), (13, 15)]


def test_messages_name_the_settings_as_eksctl_writes_them(tmp_path):
    # an eksctl user is told what to change in the ClusterConfig, not a Terraform argument
    result = _scan(
        tmp_path,
        HEADER
        + "vpc:\n"
        + "  clusterEndpoints: {publicAccess: true, privateAccess: false}\n"
        + "accessConfig:\n"
        + "  authenticationMode: CONFIG_MAP\n"
        + "  bootstrapClusterCreatorAdminPermissions: true\n"
        + "identityProviders:\n"
        + "  - name: okta\n"
        + "    type: oidc\n"
        + "    issuerURL: https://acme.okta.com\n"
        + "    clientID: kubernetes\n"
        + "    groupsClaim: groups\n"
        + "nodeGroups:\n"
        + "  - name: open\n"
        + "    disableIMDSv1: false\n"
        + "  - name: closed\n"
        + "    disablePodIMDS: false\n",
        select=("EKS102", "EKS201", "EKS202", "EKS507", "EKS508", "EKS509"),
    )
    assert _found(result) == [
        (
            "EKS102",
            7,
            7,
            "cluster vault has vpc.clusterEndpoints.privateAccess = false: nodes reach the API "
            "server through the public endpoint",
        ),
        (
            "EKS201",
            19,
            19,
            "eksctl nodeGroups open has disableIMDSv1: false, so its launch template's "
            "http_tokens = optional: IMDSv1 hands out the node role's credentials to any request",
        ),
        (
            "EKS202",
            18,
            19,
            "eksctl nodeGroups open sets no disablePodIMDS: true, so its launch template's "
            "http_put_response_hop_limit = 2 (more than 1): pods can reach the node role's "
            "credentials",
        ),
        (
            "EKS202",
            21,
            21,
            "eksctl nodeGroups closed sets disablePodIMDS: false, so its launch template's "
            "http_put_response_hop_limit = 2 (more than 1): pods can reach the node role's "
            "credentials",
        ),
        (
            "EKS507",
            9,
            9,
            "cluster vault has accessConfig.authenticationMode = CONFIG_MAP: access is managed "
            "only through the aws-auth ConfigMap",
        ),
        (
            "EKS508",
            10,
            10,
            "cluster vault gives its creator permanent cluster-admin access "
            "(accessConfig.bootstrapClusterCreatorAdminPermissions = true)",
        ),
        (
            "EKS509",
            16,
            16,
            "identity provider okta maps groups claim groups without a groupsPrefix: its group "
            "names land in RBAC as they are",
        ),
    ]


CLUSTER_RULES = ("EKS101", "EKS102", "EKS103", "EKS507", "EKS508", "EKS510")
NODE_GROUPS_ONLY = (
    HEADER
    + "managedNodeGroups:\n"
    + "  - name: graviton\n"
    + "    instanceType: t4g.medium\n"
    + "    privateNetworking: true\n"
    + "nodeGroups:\n"
    + "  - name: legacy\n"
    + "    disableIMDSv1: false\n"
)


def test_a_file_of_node_groups_only_is_judged_on_its_node_groups(tmp_path):
    # eksctl's docs: `eksctl create nodegroup --config-file` adds the node groups of a
    # ClusterConfig that names an existing cluster in `metadata`; such a file says nothing
    # about the cluster, so no cluster rule judges it
    result = _scan(tmp_path, NODE_GROUPS_ONLY, select=CLUSTER_RULES + ("EKS201", "EKS202"))
    assert [(rule, start) for rule, start, _, _ in _found(result)] == [
        ("EKS201", 12),
        ("EKS202", 7),
        ("EKS202", 11),
    ]
    assert [e.kind for e in result.entities if e.kind == "cluster"] == []
    assert _undecided(result) == []


@pytest.mark.parametrize(
    "existing_cluster_section",
    [
        "iam:\n  withOIDC: true\n  serviceAccounts:\n    - metadata: {name: app}\n",
        "addons:\n  - name: vpc-cni\n",
        "fargateProfiles:\n  - name: default\n",
        "vpc:\n  id: vpc-1\n  securityGroup: sg-1\n  subnets:\n    private:\n"
        "      eu-west-1a: {id: subnet-1}\n",
    ],
)
def test_what_eksctl_adds_to_an_existing_cluster_does_not_make_a_cluster(
    tmp_path, existing_cluster_section
):
    # node groups, add-ons, service accounts and Fargate profiles are created on an existing
    # cluster from a config file; a node group of a cluster eksctl did not create needs the
    # VPC's id, subnets and security group
    result = _scan(tmp_path, NODE_GROUPS_ONLY + existing_cluster_section, select=CLUSTER_RULES)
    assert _found(result) == []
    assert [e for e in result.entities if e.kind == "cluster"] == []


@pytest.mark.parametrize(
    ("cluster_setting", "expected"),
    [
        (
            "cloudWatch:\n  clusterLogging:\n    enableTypes: [api]\n",
            ["EKS101", "EKS102", "EKS103"],
        ),
        ("vpc:\n  clusterEndpoints: {privateAccess: true}\n", ["EKS101", "EKS103"]),
        (
            "accessConfig:\n  authenticationMode: CONFIG_MAP\n",
            ["EKS101", "EKS102", "EKS103", "EKS507"],
        ),
        (
            "secretsEncryption:\n  keyARN: arn:aws:kms:eu-west-1:1:key/k\n",
            ["EKS101", "EKS102", "EKS103"],
        ),
    ],
)
def test_a_file_that_sets_the_cluster_is_a_cluster_definition(tmp_path, cluster_setting, expected):
    result = _scan(
        tmp_path,
        NODE_GROUPS_ONLY + cluster_setting,
        select=("EKS101", "EKS102", "EKS103", "EKS507"),
    )
    assert sorted({rule for rule, _, _, _ in _found(result)}) == expected


def test_a_config_with_nothing_for_an_existing_cluster_defines_one(tmp_path):
    # a bare ClusterConfig is only good for `eksctl create cluster`: a cluster of defaults
    result = _scan(tmp_path, HEADER, select=("EKS101", "EKS102", "EKS103"))
    assert [rule for rule, _, _, _ in _found(result)] == ["EKS101", "EKS102", "EKS103"]


def test_access_entries_of_the_wrong_kind_are_problems_not_skipped(tmp_path):
    """eksctl refuses a ClusterConfig whose access entry, access policy or scope is not a
    mapping, or whose groups are not a list: each is a problem naming where it is written,
    never an entry silently left out."""
    result = _scan(
        tmp_path,
        HEADER + "accessConfig:\n"  # 6
        "  authenticationMode: API\n"
        "  accessEntries:\n"
        "    - arn:aws:iam::111122223333:role/admin\n"  # 9
        "    - principalARN: arn:aws:iam::111122223333:role/dev\n"
        "      kubernetesGroups: admins\n"  # 11
        "      accessPolicies:\n"
        "        - arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy\n"  # 13
        "        - policyARN: arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy\n"
        "          accessScope: cluster\n"  # 15
        "    - principalARN: arn:aws:iam::111122223333:role/ops\n"
        "      accessPolicies: {policyARN: x}\n",  # 17
        select={"EKS506", "EKS511"},
    )
    file = str(tmp_path / "cluster.yaml")
    entries = "accessConfig.accessEntries"
    assert sorted((p.file, p.line, p.level, p.message) for p in result.problems) == [
        (file, 9, "error", f"{entries}[0]: a string, not an access entry (a mapping)"),
        (file, 11, "error", f"{entries}[1].kubernetesGroups: a string, not a list of group names"),
        (
            file,
            13,
            "error",
            f"{entries}[1].accessPolicies[0]: a string, not an access policy (a mapping)",
        ),
        (
            file,
            15,
            "error",
            f"{entries}[1].accessPolicies[1].accessScope: a string, not an access scope "
            "(a mapping)",
        ),
        (
            file,
            17,
            "error",
            f"{entries}[2].accessPolicies: a mapping, not a list of access policies",
        ),
    ]
    assert result.findings == []
    assert _undecided(result) == [
        ("EKS511", {f"{entries}[1].accessPolicies[1].accessScope is written wrongly"})
    ]


def test_an_access_config_that_is_not_a_mapping_is_a_problem_and_not_known(tmp_path):
    """eksctl refuses an `accessConfig` that is not a mapping: an error at its key, and the
    authentication mode and creator's admin flag it would set are not known (EKS507 and
    EKS508 undecided), never eksctl's defaults."""
    result = _scan(
        tmp_path,
        HEADER + "accessConfig:\n  - authenticationMode: CONFIG_MAP\n",
        select={"EKS507", "EKS508"},
    )
    file = str(tmp_path / "cluster.yaml")
    assert [(p.file, p.line, p.level, p.message) for p in result.problems] == [
        (file, 6, "error", "accessConfig: a list, not a mapping")
    ]
    assert result.findings == []
    assert _undecided(result) == [
        ("EKS507", {"accessConfig is written wrongly"}),
        ("EKS508", {"accessConfig is written wrongly"}),
    ]
