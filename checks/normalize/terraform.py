"""Terraform module directories -> model entities.

All `.tf` files of one directory form a module. Its expressions are evaluated by the module's
`Evaluator` (`tf_eval.py`: variables from terraform.tfvars or *.auto.tfvars, else their
defaults; locals; `data.aws_iam_policy_document.x.json`; `jsonencode`/`file`/heredocs;
anything that cannot be resolved stays `Unknown`). The builders below turn the blocks that
`checks/tfcatalog.py` lists into entities, through the evaluator's public API only; calls of
the terraform-aws-modules are read in `tf_modules.py`, `kubernetes_*` resources in
`tf_kubernetes.py`, IAM roles and their policies in `tf_iam.py`.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from checks import kinds
from checks.model import Entity, LDict, LList, Location, Problem, Related, Unknown
from checks.normalize import (
    aws_auth,
    iam,
    kubernetes,
    tf_iam,
    tf_kubernetes,
    tf_modules,
    tf_nodes,
    tf_service_accounts,
)
from checks.normalize.access import policy_name, principal_type
from checks.normalize.tf_build import Module, instances, note_origin, set_attr
from checks.normalize.tf_calls import Calls, ModuleReader
from checks.normalize.tf_eval import (
    Declarations,
    Evaluator,
    ReadFile,
    policy_document,
    short,
)
from checks.normalize.tf_values import given_number
from checks.parse import BudgetSpent, ParseError, written_wrongly, wrong_kind
from checks.parse.hcltree import Attribute, Block
from checks.tfcatalog import builder_of


def normalize_module(
    directory: str,
    files: dict[str, list[Block]],
    read_file: ReadFile,
    tfvars: list[tuple[str, dict[str, Attribute]]] = (),
    real_directory: str | None = None,
    modules: ModuleReader | None = None,
) -> tuple[list[Entity], list[Problem]]:
    """Entities of one root module directory and of the module instances it calls; `files`
    maps each file's display path to its blocks, `tfvars` gives the variable files Terraform
    loads by itself, in its order. `read_file` is what `file()` reads with: (text, "") or
    (None, why it was not read); `modules` reads the directories of the modules it calls
    (without it, module calls are read only by the readers of known modules);
    `real_directory` is the directory as the filesystem knows it (default: `directory`)."""
    # the last variable file that sets a variable wins
    bound = {name: (file, attr.expr) for file, attrs in tfvars for name, attr in attrs.items()}
    ev = Evaluator(directory, Declarations(files), read_file, bound, real_directory)
    calls = None
    if modules is not None:
        calls = Calls(modules, os.path.abspath(ev.real_directory), tf_modules.is_known_module)
        calls.adopt_root(ev)
    entities, problems = normalize_blocks(Module(ev), files)
    return entities, problems + (calls.problems() if calls else [])


def normalize_blocks(
    module: Module, files: dict[str, list[Block]]
) -> tuple[list[Entity], list[Problem]]:
    """The entities the blocks of `files` make, evaluated by `module`'s evaluator; the
    Kubernetes objects and aws-auth entries among them are of the root module (`module_dir`),
    as its Terraform objects are."""
    entities: list[Entity] = []
    declarations = module.ev.declarations
    problems: list[Problem] = list(declarations.duplicates)
    for file, blocks in files.items():
        for block in blocks:
            if id(block) in declarations.repeated:
                continue  # Terraform refuses it (an error above): the first one is judged
            if block.type == "module" and len(block.labels) == 1:
                made, found = _module_call(module, file, block)
            elif block.type == "resource" and len(block.labels) == 2:
                builder = builder_of(block.labels[0])
                if builder is None:
                    continue
                made, found = [], []
                for instance in instances(module, file, block):
                    one, problems_of_one = BUILDERS[builder](module, file, instance)
                    made += one
                    found += problems_of_one
            else:
                continue
            entities.extend(made)
            problems.extend(found)
    # A trust policy document that no role in this module uses still goes somewhere (a module
    # input, an output): judge it on its own, as a bare policy document
    ev = module.ev
    for declared, file, block in ev.declarations.data_sources("aws_iam_policy_document"):
        if declared in ev.rendered or no_instances(ev, file, block):
            continue
        address = module.address(block)
        made, found = iam.trust_statements(
            policy_document(ev, file, block),
            key=module.key(file, address),
            origin=module.origin,
            file=file,
            span=(block.line, block.end_line),
            role_name=Unknown(
                f"{address} is not attached to a role here", f"(policy document {address})"
            ),
            source=address,
        )
        entities.extend(made)
        problems.extend(found)
    for e in entities:
        if e.fields.get("module_dir", "") is None:
            # what has no Terraform address of its own is of the configuration, wherever the
            # module that writes it is: Kubernetes objects and aws-auth entries (the root
            # module's kubernetes provider applies them), what a known module's call makes
            # (its access entries, its add-ons' associations)
            e.set("module_dir", module.scope)
    if module.path:
        for e in entities:
            if e.fields.get("call_path") is None:
                e.set("call_path", module.path)
    return entities, problems + ev.problems()


def no_instances(ev: Evaluator, file: str, block: Block) -> bool:
    """Whether a data source surely makes nothing: `count = 0`, or `for_each` over an empty
    map or set (a module's `count = var.create ? 1 : 0` turned off)."""
    if "count" in block.attributes:
        count = given_number(ev.attribute(block, "count", file))
        return count == 0 and not isinstance(count, bool)
    if "for_each" in block.attributes:
        each = ev.attribute(block, "for_each", file)
        return isinstance(each, (dict, list)) and not each
    return False


def _module_call(module: Module, file: str, block: Block) -> tuple[list[Entity], list[Problem]]:
    """What a module call makes: the entities of each of its instances (a module evaluated
    from its files, each entity carrying the call among its related places), or what a
    known module's reader reads of each instance's arguments."""
    ev = module.ev
    calls = ev.calls if isinstance(ev.calls, Calls) else None
    if calls is None:  # a plan's resources: no module calls to instantiate
        return tf_modules.module_call(module, file, block)
    call = calls.call(ev, block.labels[0])
    if isinstance(call, Unknown):
        return [], []
    entities: list[Entity] = []
    problems: list[Problem] = []
    for instance in call.instances:
        if instance.evaluator is not None and call.module is not None:
            if not calls.admit(file, block.line):
                break
            child = module.child(instance.evaluator, instance.address)
            made, found = normalize_blocks(child, call.module.files)
            site = Related(
                Location(file, block.line, block.end_line),
                f"{child.path}: the call of {short(str(call.source))}",
            )
            for e in made:
                e.related.insert(0, site)
            problems.extend(call.module.problems)
        else:
            with ev.bound_names(instance.iteration):
                inner = module.instance(instance.address)
                made, found = tf_modules.module_call(inner, file, block, call.version)
            for e in made:
                e.set("call_path", inner.address(block))
        entities.extend(made)
        problems.extend(found)
    return entities, problems


# ---- builders: (module, file, block) -> (entities, problems) -------------------------------
def _first(block: Block, block_type: str) -> Block | None:
    """The first nested block of a type (a `dynamic` one's content too), if any."""
    return (block.children(block_type) or [None])[0]


def _resource(module: Module, kind: str, file: str, block: Block) -> Entity:
    return module.entity(kind, file, block, module.address(block), block.labels[0])


def _cluster(module: Module, file: str, block: Block):
    e = _resource(module, "cluster", file, block)
    e.set("module_major_version", None)
    set_attr(module, e, "name", block, "name", file, fallback=block.labels[1])
    vpc = _first(block, "vpc_config")
    set_attr(module, e, "endpoint_public_access", vpc, "endpoint_public_access", file)
    set_attr(module, e, "endpoint_private_access", vpc, "endpoint_private_access", file)
    set_attr(module, e, "public_access_cidrs", vpc, "public_access_cidrs", file)
    kinds.empty_to_default(e, "public_access_cidrs")
    set_attr(module, e, "enabled_log_types", block, "enabled_cluster_log_types", file)
    access = _first(block, "access_config")
    set_attr(module, e, "authentication_mode", access, "authentication_mode", file)
    set_attr(
        module,
        e,
        "bootstrap_cluster_creator_admin_permissions",
        access,
        "bootstrap_cluster_creator_admin_permissions",
        file,
    )
    set_attr(module, e, "auto_mode", _first(block, "compute_config"), "enabled", file)
    return [e], []


def _instance_metadata(module: Module, file: str, block: Block):
    e = _resource(module, "instance_metadata", file, block)
    e.set("name", e.fields["address"])
    options = _first(block, "metadata_options")
    if options is not None:
        e.field_lines["metadata_options"] = (options.line, options.end_line)
    set_attr(module, e, "http_tokens", options, "http_tokens", file)
    set_attr(module, e, "http_endpoint", options, "http_endpoint", file)
    hop_limit = set_attr(module, e, "hop_limit", options, "http_put_response_hop_limit", file)
    e.fields["hop_limit"] = given_number(hop_limit)
    e.set("node_roles", tf_nodes.node_roles(module, file, block))
    return [e], []


def _pod_identity_association(module: Module, file: str, block: Block):
    e = _resource(module, "pod_identity_association", file, block)
    set_attr(module, e, "cluster_name", block, "cluster_name", file)
    set_attr(module, e, "namespace", block, "namespace", file)
    set_attr(module, e, "service_account", block, "service_account", file)
    role = set_attr(module, e, "role_arn", block, "role_arn", file)
    e.set("role_ref", module.reference_of(role))
    return [e], []


def _access_entry(module: Module, file: str, block: Block):
    e = _resource(module, "identity_mapping", file, block)
    e.set("source", "access_entry")
    e.set("map", None)
    set_attr(module, e, "cluster_name", block, "cluster_name", file)
    arn = set_attr(module, e, "principal_arn", block, "principal_arn", file)
    e.set("principal_type", principal_type(arn))
    e.set("account", None)
    e.set("principal_ref", module.reference_of(arn))
    set_attr(module, e, "entry_type", block, "type", file)
    set_attr(module, e, "username", block, "user_name", file)
    groups = set_attr(module, e, "groups", block, "kubernetes_groups", file)
    problems: list[Problem] = []
    if groups is not None and not isinstance(groups, (list, Unknown)):
        attr = block.attributes["kubernetes_groups"]
        problems.append(_written_wrongly(e, "groups", file, attr, groups, "a list of group names"))
    e.set("role_name", None)
    e.set("role_path", None)
    e.set("problems", [])
    return [e], problems


def _written_wrongly(
    e: Entity, field: str, file: str, attr: Attribute, value: object, expected: str
) -> Problem:
    """A problem for an attribute known of the wrong kind, which Terraform refuses (`expected`
    says what it takes); the field it sets is not known."""
    shown = f"{e.fields['address']} {attr.name}"
    e.set(field, written_wrongly(shown), span=(attr.line, attr.end_line))
    return Problem(file, wrong_kind(shown, value, expected), attr.line)


def _access_policy_association(module: Module, file: str, block: Block):
    e = _resource(module, "access_policy_association", file, block)
    set_attr(module, e, "cluster_name", block, "cluster_name", file)
    arn = set_attr(module, e, "principal_arn", block, "principal_arn", file)
    e.set("principal_ref", module.reference_of(arn))
    policy = set_attr(module, e, "policy_arn", block, "policy_arn", file)
    e.set(
        "policy_name",
        policy_name(policy),
        span=e.field_lines.get("policy_arn"),
    )
    scope = _first(block, "access_scope")
    written = block.attributes.get("access_scope") if scope is None else None
    if written is None:
        set_attr(module, e, "scope_type", scope, "type", file)
        set_attr(module, e, "scope_namespaces", scope, "namespaces", file)
        return [e], []
    return [e], _scope_written_as_value(module, e, written, file)


def _scope_written_as_value(
    module: Module, e: Entity, written: Attribute, file: str
) -> list[Problem]:
    """`access_scope = var.scope` (or an object, or a plan's scope known after apply): a
    scope not known leaves its type and namespaces unknown, whether cluster-wide or not; one
    known that is not an object is a problem, and not known."""
    value = module.ev.eval(written.expr, file)
    span = (written.line, written.end_line)
    if value is not None and not isinstance(value, (dict, Unknown)):
        expected = "an access scope (an object)"
        problem = _written_wrongly(e, "scope_type", file, written, value, expected)
        e.set("scope_namespaces", e.fields["scope_type"], span=span)
        return [problem]
    if isinstance(value, Unknown):
        for field in ("scope_type", "scope_namespaces"):
            e.set(field, value, span=span)
            note_origin(module, e, field, written, file)
        return []
    scope = value if isinstance(value, dict) else {}
    e.set("scope_type", scope.get("type"), span=span)
    if scope.get("namespaces") is None:
        kinds.set_default(e, "scope_namespaces")
    else:
        e.set("scope_namespaces", scope["namespaces"], span=span)
    return []


def _identity_provider(module: Module, file: str, block: Block):
    e = _resource(module, "identity_provider", file, block)
    set_attr(module, e, "cluster_name", block, "cluster_name", file)
    oidc = _first(block, "oidc")
    if oidc is not None:
        e.field_lines["oidc"] = (oidc.line, oidc.end_line)
    set_attr(module, e, "name", oidc, "identity_provider_config_name", file)
    set_attr(module, e, "issuer_url", oidc, "issuer_url", file)
    set_attr(module, e, "groups_claim", oidc, "groups_claim", file)
    set_attr(module, e, "groups_prefix", oidc, "groups_prefix", file)
    set_attr(module, e, "username_claim", oidc, "username_claim", file)
    set_attr(module, e, "username_prefix", oidc, "username_prefix", file)
    return [e], []


def _addon(module: Module, file: str, block: Block):
    e = _resource(module, "addon", file, block)
    ev = module.ev
    set_attr(module, e, "cluster_name", block, "cluster_name", file)
    set_attr(module, e, "name", block, "addon_name", file)
    role = set_attr(module, e, "service_account_role_arn", block, "service_account_role_arn", file)
    e.set("service_account_role_ref", module.reference_of(role))
    associations = LList(line=block.line, end_line=block.end_line)
    for child in block.children("pod_identity_association"):
        associations.append(
            {
                "service_account": ev.attribute(child, "service_account", file),
                "role_arn": ev.attribute(child, "role_arn", file),
            }
        )
        associations.item_lines.append((child.line, child.end_line))
    span = associations.item_lines[0] if associations else None
    e.set("pod_identity_associations", associations, span=span)
    pairs = [
        (item["service_account"], item["role_arn"], lines)
        for item, lines in zip(associations, associations.item_lines, strict=True)
    ]
    identities = tf_service_accounts.addon_identities(
        module,
        e.key,
        e.fields["address"],
        file,
        (block.line, block.end_line),
        e.fields["cluster_name"],
        e.fields["name"],
        e.fields["service_account_role_arn"],
        e.field_lines.get("service_account_role_arn"),
        pairs,
    )
    return [e, *identities], []


def _kubectl_manifest(module: Module, file: str, block: Block):
    attr = block.attributes.get("yaml_body")
    if attr is None:
        return [], []
    value = module.ev.eval(attr.expr, file)
    where = getattr(value, "file", "") or file
    try:
        docs = tf_kubernetes.manifest_documents(value, module.ev.yaml_budget)
    except BudgetSpent:
        return [], []  # an earlier YAML string spent the module's alias budget: reported
    except ParseError as exc:
        address = module.address(block)
        return [], [Problem(where, f"{address} yaml_body: {exc.message}", exc.line or attr.line)]
    return kubernetes.normalize_objects(where, docs, origin=module.origin)


def _kubernetes_manifest(module: Module, file: str, block: Block):
    """The kubernetes provider's `kubernetes_manifest`: one object, its `manifest` written as
    an HCL object or decoded from YAML (`yamldecode(file("x.yaml"))`)."""
    attr = block.attributes.get("manifest")
    value = module.ev.eval(attr.expr, file) if attr is not None else None
    if not isinstance(value, dict):
        return [], []  # not known before apply, or not an object (Terraform refuses it)
    where = getattr(value, "file", "") or file
    return kubernetes.normalize_objects(where, [value], origin=module.origin)


def _kubernetes_resource(module: Module, file: str, block: Block):
    doc = tf_kubernetes.resource_document(module.ev, file, block)
    if doc is None:
        return [], []
    made, found = kubernetes.normalize_objects(file, [doc], origin=module.origin)
    for e in made:
        if e.kind == "service_account":  # `eks.amazonaws.com/role-arn = aws_iam_role.x.arn`
            e.set("role_ref", module.reference_of(e.fields["role_arn"]))
    return made, found


def _config_map(module: Module, file: str, block: Block):
    ev = module.ev
    metadata = _first(block, "metadata")
    name = ev.attribute(metadata, "name", file) if metadata else None
    namespace = ev.attribute(metadata, "namespace", file) if metadata else None
    if name != "aws-auth" or namespace != "kube-system":
        return [], []
    data = ev.attribute(block, "data", file)
    doc = LDict(line=block.line, end_line=block.end_line)
    made, hostile = aws_auth.normalize_config_map(
        file,
        doc,
        data,
        key_prefix=module.key(file, module.address(block)),
        origin=module.origin,
        structured_ok=True,
        budget=ev.yaml_budget,
    )
    return module.refer_principals(made), hostile


# builder name (checks/tfcatalog.py RESOURCE_BUILDERS) -> the builder
BUILDERS: dict[str, Callable[[Module, str, Block], tuple[list[Entity], list[Problem]]]] = {
    "cluster": _cluster,
    "instance_metadata": _instance_metadata,
    "iam_role": tf_iam.iam_role,
    "iam_role_policy": tf_iam.iam_role_policy,
    "iam_policy": tf_iam.iam_policy,
    "iam_role_policy_attachment": tf_iam.iam_role_policy_attachment,
    "iam_policy_attachment": tf_iam.iam_policy_attachment,
    "iam_role_policy_attachments_exclusive": tf_iam.iam_role_policy_attachments_exclusive,
    "pod_identity_association": _pod_identity_association,
    "access_entry": _access_entry,
    "access_policy_association": _access_policy_association,
    "identity_provider": _identity_provider,
    "addon": _addon,
    "helm_release": tf_service_accounts.helm_release,
    "kubectl_manifest": _kubectl_manifest,
    "kubernetes_manifest": _kubernetes_manifest,
    "kubernetes_resource": _kubernetes_resource,
    "config_map": _config_map,
}
