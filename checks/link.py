"""Link: one pass that resolves references between entities and sets the derived fields
that depend on more than one entity (e.g. a pod's effective token automount)."""

from __future__ import annotations

from checks.model import Entity


def link(entities: list[Entity]) -> None:
    """Resolve references in place. Entities of one kind are indexed once."""
    accounts = {}
    for e in entities:
        if e.kind == "service_account":
            accounts[(e.fields["namespace"], e.fields["name"])] = e
    for e in entities:
        if e.kind == "workload":
            _effective_automount(e, accounts)


def _effective_automount(workload: Entity, accounts: dict) -> None:
    ns = workload.fields["namespace"]
    sa_name = workload.fields["service_account_name"]
    sa = accounts.get((ns, sa_name))
    if sa is not None:
        workload.links["service_account"] = [sa.key]
    pod = workload.fields.get("automount")
    if pod is not None:
        value = "true" if pod else "false"
        workload.set("effective_automount", pod)
        workload.set("automount_source", f"the pod spec sets automountServiceAccountToken: {value}")
        workload.field_lines["effective_automount"] = workload.span("automount")
        return
    where = f"ServiceAccount {ns}/{sa_name}"
    span = workload.span("service_account_name")
    if "service_account_name" not in workload.field_lines:
        span = workload.field_lines.get("pod_spec", span)
    workload.field_lines["effective_automount"] = span
    if sa is None:
        workload.set("effective_automount", True)
        workload.set(
            "automount_source",
            f"{where} is not in the scanned files and Kubernetes mounts the token by default",
        )
        return
    sa_value = sa.fields.get("automount")
    at = f"{sa.location.file}:{sa.location.start_line}"
    if sa_value is False:
        workload.set("effective_automount", False)
        workload.set("automount_source", f"{where} ({at}) sets automountServiceAccountToken: false")
    else:
        workload.set("effective_automount", True)
        said = "sets automountServiceAccountToken: true" if sa_value else "does not set automountServiceAccountToken: false"
        workload.set("automount_source", f"{where} ({at}) {said}")
