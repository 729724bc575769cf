"""The link stage, one link at a time, on entities made by hand (and trust statements by the
IAM normalizer): what it links, what it concludes, and what it says when the other side is
not in the scan."""

from __future__ import annotations

import pytest

from checks.link import link
from checks.model import Entity, LList, Location, PartialList, Unknown, UnknownItems
from checks.normalize.iam import trust_statements


def _entity(kind: str, key: str, file: str = "f.yaml", line: int = 1, **fields) -> Entity:
    return Entity(kind, key, "test", Location(file, line, line), fields=fields)


def _sa(name: str, file: str, automount=None, role_arn=None, namespace: str = "shop") -> Entity:
    return _entity(
        "service_account",
        f"k8s:{namespace}/ServiceAccount/{name}@{file}",
        file,
        3,
        name=name,
        namespace=namespace,
        automount=automount,
        role_arn=role_arn,
    )


def _workload(file: str, sa: str = "cart", automount=None) -> Entity:
    return _entity(
        "workload",
        f"k8s:shop/Deployment/web@{file}",
        file,
        7,
        namespace="shop",
        service_account_name=sa,
        automount=automount,
    )


def test_a_workload_takes_its_service_account_from_the_nearest_file():
    here = _sa("cart", "prod/k8s/sa.yaml", automount=False)
    elsewhere = _sa("cart", "dev/k8s/sa.yaml", automount=True)
    pod = _workload("prod/k8s/web.yaml")
    link([elsewhere, pod, here])
    assert pod.links == {"service_account": [here.key]}
    assert pod.fields["effective_automount"] is False
    assert pod.fields["automount_source"] == (
        "ServiceAccount shop/cart (prod/k8s/sa.yaml:3) sets automountServiceAccountToken: false"
    )


def test_a_pod_spec_setting_wins_and_a_missing_account_mounts_by_default():
    pod = _workload("web.yaml", automount=False)
    lonely = _workload("other.yaml", sa="builder")
    link([pod, lonely, _sa("cart", "sa.yaml", automount=True)])
    assert (pod.fields["effective_automount"], pod.fields["automount_source"]) == (
        False,
        "the pod spec sets automountServiceAccountToken: false (ServiceAccount shop/cart)",
    )
    assert lonely.links == {}
    assert (lonely.fields["effective_automount"], lonely.fields["automount_source"]) == (
        True,
        "ServiceAccount shop/builder is not in the scanned files and Kubernetes mounts the "
        "token by default",
    )


ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/ABC"


def _trust(role: str, operator: str, subjects: list, actions=("sts:AssumeRoleWithWebIdentity",)):
    statement = {
        "Effect": "Allow",
        "Action": list(actions),
        "Principal": {"Federated": f"arn:aws:iam::1:oidc-provider/{ISSUER}"},
        "Condition": {operator: {f"{ISSUER}:sub": subjects}},
    }
    made, _ = trust_statements(
        {"Statement": [statement]},
        key=f"iam:{role}.json",
        origin="iam",
        file=f"{role}.json",
        span=(1, 1),
        role_name=role,
    )
    return made


@pytest.mark.parametrize(
    "operator, subjects, admits",
    [
        ("StringEquals", ["system:serviceaccount:shop:cart"], True),
        ("StringEquals", ["system:serviceaccount:shop:*"], False),  # literal, no wildcard
        ("StringLike", ["system:serviceaccount:shop:*"], True),
        ("StringLike", ["system:serviceaccount:dev:*"], False),
        ("StringNotEquals", ["system:serviceaccount:shop:cart"], False),
        ("StringEquals", ["system:serviceaccount:shop:cart", "${var.other}"], True),
    ],
)
def test_irsa_trust_admits_the_service_account(operator, subjects, admits):
    statements = _trust("catalog", operator, subjects)
    sa = _sa("cart", "sa.yaml", role_arn="arn:aws:iam::1:role/apps/catalog")
    link([sa, *statements])
    assert sa.fields["irsa_role_name"] == "catalog"
    assert sa.fields["irsa_subject"] == "system:serviceaccount:shop:cart"
    assert sa.fields["irsa_trust_admits"] is admits
    assert sa.links["irsa_role_trust"] == [statements[0].key]
    assert sa.links.get("irsa_trust_admitting", []) == ([statements[0].key] if admits else [])


def test_a_role_is_found_by_its_name_in_any_case():
    # IAM tells roles apart regardless of case (one role per name), as the access graph
    # finds them: the role of an annotation written in another case is the same role
    statements = _trust("Catalog", "StringEquals", ["system:serviceaccount:shop:cart"])
    sa = _sa("cart", "sa.yaml", role_arn="arn:aws:iam::1:role/catalog")
    link([sa, *statements])
    assert sa.fields["irsa_trust_admits"] is True
    assert sa.links["irsa_role_trust"] == [statements[0].key]


def test_irsa_trust_that_depends_on_an_unknown_subject_is_unknown():
    statements = _trust("catalog", "StringEquals", ["${var.subject}"])
    sa = _sa("cart", "sa.yaml", role_arn="arn:aws:iam::1:role/catalog")
    link([sa, *statements])
    admits = sa.fields["irsa_trust_admits"]
    assert isinstance(admits, Unknown) and admits.text == "${var.subject}"


def test_irsa_trust_whose_action_is_not_known_is_unknown():
    statements = _trust(
        "catalog", "StringEquals", ["system:serviceaccount:shop:cart"], actions=["${var.a}"]
    )
    sa = _sa("cart", "sa.yaml", role_arn="arn:aws:iam::1:role/catalog")
    link([sa, *statements])
    admits = sa.fields["irsa_trust_admits"]
    assert isinstance(admits, Unknown) and admits.text == "${var.a}"


def test_irsa_role_not_in_the_scan_concludes_nothing():
    sa = _sa("cart", "sa.yaml", role_arn="arn:aws:iam::1:role/elsewhere")
    link([sa, *_trust("catalog", "StringEquals", ["system:serviceaccount:shop:cart"])])
    assert {k: sa.fields[k] for k in ("irsa_role_name", "irsa_subject", "irsa_trust_admits")} == {
        "irsa_role_name": None,
        "irsa_subject": None,
        "irsa_trust_admits": None,
    }
    assert sa.links == {}


def _pod_identity_trust(role: str, actions: list) -> list[Entity]:
    made, _ = trust_statements(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "pods.eks.amazonaws.com"},
                    "Action": actions,
                }
            ]
        },
        key=f"terraform:iam.tf:aws_iam_role.{role}",
        origin="terraform",
        file="iam.tf",
        span=(1, 1),
        role_name=role,
        role_ref=f".:aws_iam_role.{role}",
    )
    return made


def _association(**fields) -> Entity:
    return _entity(
        "pod_identity_association",
        "terraform:pia.tf:aws_eks_pod_identity_association.a",
        "pia.tf",
        **fields,
    )


@pytest.mark.parametrize(
    "actions, trusts",
    [
        (["sts:AssumeRole", "sts:TagSession"], True),
        (["sts:AssumeRole"], False),
        (["sts:*"], True),
        (["sts:AssumeRole", "${var.more}"], "unknown"),
        (["${var.all}"], "unknown"),
    ],
)
def test_pod_identity_association_needs_assume_role_and_tag_session(actions, trusts):
    trust = _pod_identity_trust("app", actions)
    by_arn = _association(role_arn="arn:aws:iam::1:role/app", role_ref=None, service_account="api")
    by_ref = _association(
        role_arn=Unknown("computed", "aws_iam_role.app.arn"),
        role_ref=".:aws_iam_role.app",
        service_account="api",
    )
    link([by_arn, by_ref, *trust])
    for assoc in (by_arn, by_ref):
        assert assoc.links == {"role_trust": [trust[0].key]}
        verdict = assoc.fields["role_trusts_pod_identity"]
        assert assoc.fields["role_name"] == "app"
        assert isinstance(verdict, Unknown) if trusts == "unknown" else verdict is trusts


def test_pod_identity_role_not_in_the_scan_concludes_nothing():
    assoc = _association(role_arn="arn:aws:iam::1:role/gone", role_ref=None, service_account="api")
    link([assoc])
    assert (assoc.fields["role_name"], assoc.fields["role_trusts_pod_identity"]) == (None, None)
    assert assoc.links == {}


@pytest.mark.parametrize(
    "entity, gives",
    [
        (_sa("default", "sa.yaml", role_arn="arn:aws:iam::1:role/x"), True),
        (_sa("default", "sa.yaml"), False),
        (_sa("cart", "sa.yaml", role_arn="arn:aws:iam::1:role/x"), False),
        (_association(role_arn="r", role_ref=None, service_account="default"), True),
        (_association(role_arn="r", role_ref=None, service_account="api"), False),
        (_association(role_arn="r", role_ref=None, service_account=None), False),
    ],
)
def test_a_role_given_to_a_default_service_account(entity, gives):
    link([entity])
    assert entity.fields["gives_role_to_default_service_account"] is gives


def test_a_role_given_to_an_unknown_service_account_is_unknown():
    target = Unknown("var.sa has no default", "var.sa")
    assoc = _association(role_arn="r", role_ref=None, service_account=target)
    link([assoc])
    assert assoc.fields["gives_role_to_default_service_account"] is target


def _binding(key: str, group: str, role: str = "cluster-admin", kind: str = "ClusterRoleBinding"):
    return _entity(
        "rbac_binding",
        key,
        object_kind=kind,
        role_ref_kind="ClusterRole",
        role_ref_name=role,
        subjects=[{"kind": "Group", "name": group, "namespace": None}],
    )


def test_mapped_groups_bound_to_cluster_admin():
    admins = _binding("k8s:ClusterRoleBinding/ops-admin", "ops")
    viewers = _binding("k8s:ClusterRoleBinding/ops-view", "ops", role="view")
    masters = _binding("k8s:ClusterRoleBinding/masters", "system:masters")
    namespaced = _binding("k8s:shop/RoleBinding/devs", "devs", kind="RoleBinding")
    mapping = _entity("identity_mapping", "m", groups=["ops", "devs", "system:masters"])
    unknown_groups = _entity("identity_mapping", "u", groups=Unknown("module output", "module.x"))
    link([admins, viewers, masters, namespaced, mapping, unknown_groups])
    assert mapping.fields["cluster_admin_groups"] == ["ops"]
    assert mapping.links == {"cluster_admin_bindings": [admins.key]}
    assert unknown_groups.fields["cluster_admin_groups"] is unknown_groups.fields["groups"]
    assert unknown_groups.links == {}


def test_groups_not_known_may_be_cluster_admin_only_where_a_group_is():
    """Groups not known (a value, a list partly known, an unknown item, each item of a `for`)
    are cluster-admin groups not known while a scanned ClusterRoleBinding binds a group other
    than system:masters to cluster-admin, and none when no binding does; a known group that
    is bound is one whatever the rest."""
    admins = _binding("k8s:ClusterRoleBinding/ops-admin", "ops")
    masters = _binding("k8s:ClusterRoleBinding/masters", "system:masters")
    whole = Unknown("var.groups has no default", "var.groups")
    partly = PartialList("var.extra has no default", "concat", None, LList(["view", "ops"]))
    partly_other = PartialList("var.extra has no default", "concat", None, LList(["view"]))
    item = Unknown("var.one has no default", "var.one")
    each_ops = UnknownItems("var.extra has no default", "for", None, "ops")
    each_view = UnknownItems("var.extra has no default", "for", None, "view")
    each_masters = UnknownItems("var.extra has no default", "for", None, "system:masters")
    cases = {
        "whole": (whole, whole),
        "partly": (partly, ["ops"]),
        "partly_other": (partly_other, partly_other),
        "item": (["view", item], item),
        "item_ops": (["ops", item], ["ops"]),
        "each_ops": (each_ops, each_ops),
        "each_view": (each_view, []),
        "each_masters": (each_masters, []),
    }
    mappings = {name: _entity("identity_mapping", name, groups=g) for name, (g, _) in cases.items()}
    link([admins, masters, *mappings.values()])
    for name, (_, expected) in cases.items():
        found = mappings[name].fields["cluster_admin_groups"]
        if isinstance(expected, PartialList):
            # not the list itself, whose known items (no bound group) a rule would judge
            assert type(found) is Unknown, name
            assert (found.reason, found.text) == (expected.reason, expected.text), name
        else:
            assert found == expected, name
    assert {n: m.links for n, m in mappings.items() if m.links} == {
        "partly": {"cluster_admin_bindings": [admins.key]},
        "item_ops": {"cluster_admin_bindings": [admins.key]},
    }
    none_bound = {
        name: _entity("identity_mapping", name, groups=g) for name, (g, _) in cases.items()
    }
    link([masters, *none_bound.values()])
    assert {n: m.fields["cluster_admin_groups"] for n, m in none_bound.items()} == {
        "whole": [],
        "partly": [],
        "partly_other": [],
        "item": [],
        "item_ops": [],
        "each_ops": [],
        "each_view": [],
        "each_masters": [],
    }


def test_access_policy_associations_find_their_access_entry():
    entry = _entity(
        "identity_mapping",
        "terraform:infra/access.tf:aws_eks_access_entry.ops",
        "infra/access.tf",
        address="aws_eks_access_entry.ops",
        module_dir="infra",
        source="access_entry",
        principal_arn=Unknown("computed", "aws_iam_role.ops.arn"),
        principal_ref=None,
    )
    by_ref = _entity(
        "access_policy_association",
        "terraform:infra/access.tf:aws_eks_access_policy_association.ops",
        "infra/access.tf",
        principal_arn=Unknown("computed", "aws_eks_access_entry.ops.principal_arn"),
        principal_ref="infra:aws_eks_access_entry.ops",
    )
    arn = "arn:aws:iam::1:role/ci"
    ci = _entity(
        "identity_mapping",
        "eksctl:c.yaml:c/accessEntries[0]",
        source="access_entry",
        principal_arn=arn,
        principal_ref=None,
    )
    inside = _entity(
        "access_policy_association",
        f"{ci.key}.accessPolicies[0]",
        principal_arn=arn,
        principal_ref=None,
    )
    inside.links["access_entry"] = [ci.key]  # written inside its entry: linked already
    aws_auth = _entity(
        "identity_mapping", "k8s:aws-auth/mapRoles[0]", source="aws-auth", principal_arn=arn
    )
    link([entry, by_ref, ci, inside, aws_auth])
    assert by_ref.links == {"access_entry": [entry.key]}
    assert entry.links == {"access_policy_associations": [by_ref.key]}
    assert inside.links == {"access_entry": [ci.key]}
    assert ci.links == {"access_policy_associations": [inside.key]}
    assert aws_auth.links == {}


def test_an_access_policy_association_links_the_entries_of_its_own_cluster():
    """The same principal may have an access entry in several clusters: an association goes
    with the entry of its cluster when both name theirs, with every entry of the principal
    when one side does not."""
    arn = "arn:aws:iam::1:role/ops"

    def entry(key: str, cluster: object) -> Entity:
        return _entity(
            "identity_mapping", key, source="access_entry", principal_arn=arn, cluster_name=cluster
        )

    prod, dev = entry("entry-prod", "prod"), entry("entry-dev", "dev")
    anywhere = entry("entry-unknown", Unknown("computed", "aws_eks_cluster.main.name"))
    of_prod = _entity("access_policy_association", "policy-prod", principal_arn=arn)
    of_prod.fields["cluster_name"] = "prod"
    unsaid = _entity("access_policy_association", "policy-unsaid", principal_arn=arn)
    unsaid.fields["cluster_name"] = None
    link([prod, dev, anywhere, of_prod, unsaid])
    assert of_prod.links == {"access_entry": ["entry-prod", "entry-unknown"]}
    assert unsaid.links == {"access_entry": ["entry-prod", "entry-dev", "entry-unknown"]}
    assert dev.links == {"access_policy_associations": ["policy-unsaid"]}


def test_an_access_policy_association_links_the_entries_of_its_own_configuration():
    """Environments of a monorepo repeat an entry and its association per directory: an
    association whose cluster is an expression goes with the entries of its own directory
    (an expression names a cluster of its own configuration); one that names its cluster
    goes with the entries of that name in the nearest directory that has any."""
    arn = "arn:aws:iam::1:role/ops"

    def made(kind: str, key: str, file: str, cluster: object) -> Entity:
        fields = {"principal_arn": arn, "cluster_name": cluster}
        if kind == "identity_mapping":
            fields["source"] = "access_entry"
        return _entity(kind, key, file, **fields)

    main = Unknown("computed", "aws_eks_cluster.main.name")
    entries = [
        made("identity_mapping", f"entry-{env}", f"envs/{env}/access.tf", cluster)
        for env, cluster in (("dev", main), ("qa", "platform"), ("prod", "platform"))
    ]
    by_expression = made("access_policy_association", "assoc-dev", "envs/dev/policy.tf", main)
    by_name = made("access_policy_association", "assoc-qa", "envs/qa/policy.tf", "platform")
    elsewhere = made("access_policy_association", "assoc-ops", "ops/policy.tf", "platform")
    link([*entries, by_expression, by_name, elsewhere])
    assert by_expression.links == {"access_entry": ["entry-dev"]}
    assert by_name.links == {"access_entry": ["entry-qa"]}
    assert elsewhere.links == {"access_entry": ["entry-qa", "entry-prod"]}
    assert [e.links for e in entries] == [
        {"access_policy_associations": ["assoc-dev"]},
        {"access_policy_associations": ["assoc-qa", "assoc-ops"]},
        {"access_policy_associations": ["assoc-ops"]},
    ]


def test_the_statements_of_one_role_are_found_together_whatever_their_keys():
    """Of two roles with one name, the nearest one's statements, all of them: a statement
    says its role in `role_key` (its key is opaque)."""
    subjects = ["system:serviceaccount:shop:cart"]
    near = _trust("catalog", "StringEquals", subjects) + _trust("catalog", "StringLike", subjects)
    far = _trust("catalog", "StringEquals", ["system:serviceaccount:shop:cart"])
    for index, statement in enumerate([*near, *far]):
        statement.key = f"statement-{index}"
    for statement in near:
        statement.location = Location("infra/shop/iam.json", 1, 1)
        statement.fields["role_key"] = "the near role"
    far[0].location = Location("other/iam.json", 1, 1)
    sa = _sa("cart", "infra/shop/sa.yaml", role_arn="arn:aws:iam::1:role/catalog")
    link([sa, *near, *far])
    assert sa.links["irsa_role_trust"] == ["statement-0", "statement-1"]


def test_a_rule_belongs_to_the_role_its_role_key_names():
    from checks.normalize.kubernetes import normalize_objects
    from checks.parse.yamlsafe import load_all

    manifest = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\n"
        'rules:\n- {apiGroups: [""], resources: [secrets], verbs: [get]}\n'
    )
    (role, rule), _ = normalize_objects("rbac.yaml", list(load_all(manifest)))
    assert rule.fields["role_key"] == role.key
    role.key, rule.key, rule.fields["role_key"] = "a role", "a rule", "a role"
    link([role, rule])
    assert role.fields["capabilities"] == ["read_secrets"]


def _cluster(key: str, mode="CONFIG_MAP", auto=False) -> Entity:
    return _entity("cluster", key, "eks.tf", name=key, authentication_mode=mode, auto_mode=auto)


@pytest.mark.parametrize(
    "clusters, ignored, because",
    [
        ([_cluster("main", mode="API")], True, "authentication_mode = API"),
        ([_cluster("main", auto=True)], True, "Auto Mode (compute_config.enabled)"),
        ([_cluster("main", mode="API_AND_CONFIG_MAP")], False, None),
        ([_cluster("main", mode="API"), _cluster("other", mode="API")], None, None),
        ([], None, None),
    ],
)
def test_aws_auth_is_judged_against_the_only_cluster(clusters, ignored, because):
    document = _entity("aws_auth_document", "k8s:kube-system/ConfigMap/aws-auth")
    link([document, *clusters])
    assert document.fields["ignored_by_cluster"] is ignored
    assert document.fields["ignored_because"] == because
    only = len(clusters) == 1
    assert document.fields["cluster_name"] == (clusters[0].fields["name"] if only else None)
    assert document.links == ({"cluster": [clusters[0].key]} if only else {})


def test_of_many_copies_of_a_service_account_a_workload_takes_the_nearest():
    """A monorepo holds one copy per environment (more than a few, so they are looked up by
    place): the copy in the pod's file, else under the deepest folder it shares with the pod,
    the first of those; a pod sharing no folder with any takes the first copy."""
    copies = {
        (region, stage): _sa("cart", f"envs/{region}/{stage}/k8s/sa.yaml", automount=False)
        for region in ("eu", "us", "ap")
        for stage in ("dev", "qa", "prod", "stage")
    }
    in_file = _entity(
        "workload",
        "k8s:shop/Deployment/web@envs/us/qa/k8s/sa.yaml",
        "envs/us/qa/k8s/sa.yaml",
        20,
        namespace="shop",
        service_account_name="cart",
        automount=None,
    )
    pods = {
        "envs/ap/prod/k8s/web.yaml": copies["ap", "prod"],
        "envs/ap/prod/web.yaml": copies["ap", "prod"],
        "envs/us/web.yaml": copies["us", "dev"],
        "envs/web.yaml": copies["eu", "dev"],
        "apps/web.yaml": copies["eu", "dev"],
    }
    workloads = {file: _workload(file) for file in pods}
    link([*workloads.values(), *copies.values(), in_file])
    assert {file: w.links["service_account"] for file, w in workloads.items()} == {
        file: [sa.key] for file, sa in pods.items()
    }
    assert in_file.links["service_account"] == [copies["us", "qa"].key]


def _said_values():
    from hypothesis import strategies as st

    from checks.link import _Said

    cluster = st.sampled_from(["a", "b", Unknown("var.c", "var.c"), None])
    principal = st.sampled_from(
        [None, ("value", "x"), ("value", "y"), ("ref", "r"), ("ref", "s"), ("expression", "d", "e")]
    )
    kind = st.sampled_from(["STANDARD", "EC2_LINUX", None, Unknown("var.t", "var.t")])
    role = st.sampled_from([None, "admin", "dev"])
    return st.builds(
        lambda c, p, k, r, d: _Said(
            identity=None,
            literal=(c, p[1]) if isinstance(c, str) and p is not None and p[0] == "value" else None,
            directory=d,
            cluster=c,
            principal=p,
            principal_type=k,
            role_name=r,
        ),
        cluster,
        principal,
        kind,
        role,
        st.sampled_from(["m1", "m2"]),
    )


def test_the_earlier_entry_that_may_be_the_same_is_the_first_one_not_surely_different():
    """Indexed, the first earlier entry that may be for the same principal and cluster is the
    one comparing each with each finds: the first not surely different (`_differ`), a
    literal one compared with the first written alike and then with the non-literal ones."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from checks.link import _differ, _earlier_alike, _where

    @settings(max_examples=300, deadline=None)
    @given(st.lists(_said_values(), max_size=12))
    def check(values):
        entities = [_entity("identity_mapping", f"e{i}", line=i + 1) for i in range(len(values))]
        said = {id(e): v for e, v in zip(entities, values, strict=True)}
        expected = []
        for index, own in enumerate(values):
            earlier = list(range(index))
            if own.literal is not None:
                alike = [i for i in earlier if values[i].literal == own.literal][:1]
                earlier = alike + [i for i in earlier if values[i].literal is None]
            found = next((i for i in earlier if not _differ(own, values[i])), None)
            where = None if found is None else _where(entities[found], "the access entry")
            expected.append(where and f"{where} may be for the same principal and cluster")
        out = _earlier_alike(entities, said, "access entry", "principal and cluster")
        assert [None if maybe is None else maybe.reason for _, _, maybe in out] == expected

    check()


def test_a_service_account_whose_namespace_is_a_list_holds_what_every_account_holds():
    """A module's ServiceAccount whose namespace attribute was written as a list (a wrong type
    is a value, never a crash): no binding names it, one for every ServiceAccount holds."""
    from checks.model import LList

    account = _sa("cart", "infra/main.tf", namespace=LList(["shop"]))
    account.fields["given_by"] = "module.eks"
    everyone = _entity(
        "rbac_binding",
        "k8s:ClusterRoleBinding/read-all@rbac.yaml",
        "rbac.yaml",
        object_kind="ClusterRoleBinding",
        namespace=None,
        role_ref_kind="ClusterRole",
        role_ref_name="view",
        subjects=[{"kind": "Group", "name": "system:serviceaccounts"}],
    )
    link([account, everyone])
    assert account.fields["capabilities"] == everyone.fields["capabilities"]


def test_the_access_graph_passes_over_a_service_account_whose_namespace_is_a_list():
    """The same ServiceAccount in the access graph (a wrong type is a value, never a crash):
    no pod can run as it, its role reaches no one."""
    from checks import graph
    from checks.model import LList

    account = _sa("cart", "infra/main.tf", namespace=LList(["shop"]))
    account.fields["given_by"] = "module.eks"
    account.fields["role_arn"] = "arn:aws:iam::111122223333:role/admin"
    pod = _workload("k8s/web.yaml")
    link([account, pod])
    built = graph.build([account, pod])
    assert pod.fields["reaches_aws_admin"] is False
    assert [n.label for n in built.nodes.values() if n.kind == "service_account"] == [
        "ServiceAccount shop/cart"
    ]


def test_a_pod_whose_namespace_is_a_list_runs_as_no_scanned_service_account():
    """A workload a module wrote with a list for its namespace: no ServiceAccount is its own,
    in link and in the access graph."""
    from checks import graph
    from checks.model import LList

    pod = _workload("k8s/web.yaml")
    pod.fields["namespace"] = LList(["shop"])
    account = _sa("cart", "k8s/sa.yaml", automount=False)
    link([account, pod])
    graph.build([account, pod])
    assert "service_account" not in pod.links
    assert pod.fields["reaches_aws_admin"] is False


def test_a_finding_points_at_the_copy_of_its_own_environment(monkeypatch):
    # dev and prod hold the same ClusterRole and binding, prod's two lines lower: the role
    # rule EKS604 names as related is the one its own environment's binding refers to, not
    # the first copy of that key in the scan (the binding's own check already read prod's)
    import json

    from conftest import FIXTURES, cli

    monkeypatch.chdir(FIXTURES / "copies")
    code, out, _ = cli("scan", "--format", "json", "--select", "EKS604", ".")
    assert code == 1
    places = [
        (
            f["location"]["file"],
            f["location"]["start_line"],
            [(r["location"]["file"], r["location"]["start_line"]) for r in f["related"]],
        )
        for f in json.loads(out)["findings"]
    ]
    assert places == [
        ("envs/dev/rbac.yaml", 16, [("envs/dev/rbac.yaml", 6)]),
        ("envs/prod/rbac.yaml", 18, [("envs/prod/rbac.yaml", 8)]),
    ]


def test_many_copies_of_a_name_are_weighed_as_few_are():
    """Past FEW_COPIES, copies are found by place (an index): the nearest are those comparing
    each with each finds, the copies of the asker's own Kustomize overlay first."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from checks.link import FEW_COPIES, Copies, nearest

    files = st.sampled_from(["a/x.yaml", "a/y.yaml", "a/b/x.yaml", "c/x.yaml", "x.yaml"])
    overlays = st.sampled_from([None, "envs/dev", "envs/prod"])

    def made(file: str, overlay: str | None, index: int) -> Entity:
        key = f"k8s:default/ServiceAccount/web{index}"
        shown = key if overlay is None else f"kustomize:{overlay}:{key}"
        return _entity("service_account", shown, file, index + 1)

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(st.tuples(files, overlays), min_size=FEW_COPIES + 1, max_size=20),
        st.tuples(files, overlays),
    )
    def check(placed, asking):
        copies = Copies()
        written = []
        for index, (file, overlay) in enumerate(placed):
            copy = made(file, overlay, index)
            copies.add("web", copy)
            written.append(copy)
        asker = made(*asking, 99)
        assert copies.nearest("web", asker) == nearest(asker, written)

    check()
