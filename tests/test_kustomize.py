"""Kustomize: root kustomizations rendered by kubectl, each object at the line that writes
it (the patch's, when a patch set the field), bases once per overlay, patch files never
objects of their own; remote targets and paths out of the tree refused; without a renderer,
resources read with namespace, prefix and suffix applied and a note."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from checks.normalize import kustomize as renderer_module
from checks.sources import classify
from conftest import FIXTURES, cli

KUSTOMIZE = FIXTURES / "kustomize"


def _renderer_or_fail() -> None:
    """These tests need kubectl (or kustomize) on PATH: .ci/run installs it, so a skip there
    fails (conftest)."""
    if shutil.which("kubectl") is None and shutil.which("kustomize") is None:
        pytest.skip("no kubectl or kustomize on PATH")


def _scan(tree: str, *options: str) -> tuple[int, dict]:
    shutil.copytree(KUSTOMIZE / tree, Path.cwd() / tree)
    code, out, _ = cli("scan", tree, "--format", "json", "--no-cache", *options)
    return code, json.loads(out)


def _where(finding: dict) -> tuple[str, int, str]:
    loc = finding["location"]
    return (loc["file"], loc["start_line"], finding["rule_id"])


def _related(finding: dict) -> list[tuple[str, int, str]]:
    return [
        (r["location"]["file"], r["location"]["start_line"], r["message"])
        for r in finding["related"]
    ]


@pytest.fixture
def no_renderer(monkeypatch, tmp_path):
    """A PATH with neither kubectl nor kustomize."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def _fake_kubectl(folder: Path, log: Path) -> None:
    """A kubectl that answers `version --client` and records any other call."""
    folder.mkdir()
    script = folder / "kubectl"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = version ]; then\n'
        "  echo 'Client Version: v1.32.4'; echo 'Kustomize Version: v5.5.0'; exit 0\n"
        "fi\n"
        f'echo "$@" >> "{log}"\n'
        "exit 1\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


NAMES_FINDINGS = {
    ("names/base/binding.yaml", 10, "EKS602"),
    ("names/base/deploy.yaml", 8, "EKS301"),
    ("names/base/deploy.yaml", 8, "EKS704"),
}


def test_namespace_prefix_and_suffix_rendered(in_tmp):
    _renderer_or_fail()
    code, report = _scan("names")
    assert code == 1
    assert {_where(f) for f in report["findings"]} == NAMES_FINDINGS
    messages = {f["rule_id"]: f["message"] for f in report["findings"]}
    assert messages["EKS602"] == (
        "ClusterRoleBinding prod-web-admin-v2 binds ClusterRole cluster-admin to "
        "[ServiceAccount payments/prod-web-v2]"
    )
    assert messages["EKS301"].startswith("Deployment payments/prod-web-v2 mounts")
    overlay = (
        "names/overlay/kustomization.yaml",
        5,
        "rendered by the kustomization in names/overlay",
    )
    assert all(overlay in _related(f) for f in report["findings"])
    assert report["problems"] == []


def test_without_a_renderer_namespace_prefix_and_suffix_are_applied_here(in_tmp, no_renderer):
    code, report = _scan("names")
    assert code == 1
    assert {_where(f) for f in report["findings"]} == NAMES_FINDINGS
    messages = {f["rule_id"]: f["message"] for f in report["findings"]}
    assert messages["EKS602"] == (
        "ClusterRoleBinding prod-web-admin-v2 binds ClusterRole cluster-admin to "
        "[ServiceAccount payments/prod-web-v2]"
    )
    assert messages["EKS301"].startswith("Deployment payments/prod-web-v2 mounts")
    assert report["problems"] == [
        {
            "file": "names/overlay/kustomization.yaml",
            "level": "note",
            "message": "kustomization not rendered (no kubectl or kustomize on PATH): its "
            "resources are read as written, with its namespace and name prefix and suffix, "
            "without its patches",
        }
    ]


def test_without_a_renderer_each_overlay_renames_its_own_copy_of_a_shared_base(in_tmp, no_renderer):
    # the base's documents are parsed once and shared: an overlay's prefix applied to them in
    # place would reach the next overlay's copy (prod-dev-web)
    shutil.copytree(KUSTOMIZE / "shared", in_tmp / "shared")
    for overlay in ("dev", "prod"):
        (in_tmp / "shared" / overlay / "kustomization.yaml").write_text(
            f"resources:\n  - ../base\nnamePrefix: {overlay}-\nnamespace: {overlay}\n"
        )
    code, out, _ = cli("scan", "shared", "--format", "json", "--no-cache")
    assert code == 1
    messages = sorted(f["message"].split(" mounts")[0] for f in json.loads(out)["findings"])
    assert messages == ["Deployment dev/dev-web", "Deployment prod/prod-web"]


def test_strategic_merge_patch_file_is_where_the_field_is_set(in_tmp):
    _renderer_or_fail()
    code, report = _scan("strategic")
    assert code == 1
    (finding,) = report["findings"]
    assert _where(finding) == ("strategic/overlay/token.yaml", 9, "EKS301")
    assert _related(finding) == [
        ("strategic/base/deploy.yaml", 1, "the object the patch changes, as written"),
        (
            "strategic/overlay/kustomization.yaml",
            2,
            "rendered by the kustomization in strategic/overlay",
        ),
    ]
    assert finding["message"] == (
        "Deployment shop/api mounts a service-account token: the pod spec sets "
        "automountServiceAccountToken: true (ServiceAccount shop/default)"
    )


def test_a_patch_file_is_never_an_object_of_its_own(in_tmp):
    _renderer_or_fail()
    shutil.copytree(KUSTOMIZE / "strategic", in_tmp / "strategic")
    _, out, _ = cli("model", "strategic")
    entities = json.loads(out)["entities"]
    assert [(e["key"], e["location"]["file"]) for e in entities] == [
        ("kustomize:strategic/overlay:k8s:shop/Deployment/api", "strategic/base/deploy.yaml")
    ]
    (deployment,) = entities
    assert deployment["line_files"] == {
        "automount": "strategic/overlay/token.yaml",
        "effective_automount": "strategic/overlay/token.yaml",
    }


def test_without_a_renderer_patches_are_skipped(in_tmp, no_renderer):
    code, report = _scan("strategic")
    assert code == 0
    assert report["findings"] == []  # the base sets automountServiceAccountToken: false
    assert [p["file"] for p in report["problems"]] == ["strategic/overlay/kustomization.yaml"]


def test_json6902_patches_in_a_file_and_inline(in_tmp):
    _renderer_or_fail()
    _, report = _scan("json6902")
    found = {_where(f): f for f in report["findings"]}
    assert set(found) == {
        ("json6902/overlay/token.json6902.yaml", 3, "EKS301"),
        # the `value` of the inline operation: its line in the kustomization
        ("json6902/overlay/kustomization.yaml", 15, "EKS305"),
        ("json6902/base/sa.yaml", 1, "EKS302"),
        ("json6902/base/deploy.yaml", 11, "EKS307"),
    }
    assert _related(found[("json6902/overlay/kustomization.yaml", 15, "EKS305")])[0] == (
        "json6902/base/sa.yaml",
        1,
        "the object the patch changes, as written",
    )


def test_a_components_inline_patch(in_tmp):
    _renderer_or_fail()
    _, report = _scan("components")
    assert [_where(f) for f in report["findings"]] == [
        ("components/irsa/kustomization.yaml", 13, "EKS301")
    ]


def test_remote_base_is_refused_and_nothing_runs(in_tmp, monkeypatch):
    log = in_tmp / "kubectl-calls"
    _fake_kubectl(in_tmp / "bin", log)
    monkeypatch.setenv("PATH", str(in_tmp / "bin"))
    code, report = _scan("remote")
    assert not log.exists()  # no render, no fetch
    assert code == 1
    assert report["problems"] == [
        {
            "file": "remote/overlay/kustomization.yaml",
            "level": "note",
            "line": 3,
            "message": "not rendered: remote target "
            "https://github.com/example/platform//base?ref=v1.2.0, not fetched",
        }
    ]
    # what is local is read all the same, in the kustomization's namespace
    (finding,) = report["findings"]
    assert _where(finding) == ("remote/overlay/deploy.yaml", 7, "EKS301")
    assert finding["message"].startswith("Deployment shop/api mounts")


def test_a_base_shared_by_two_overlays_gives_its_findings_once_per_overlay(in_tmp):
    _renderer_or_fail()
    _, report = _scan("shared")
    findings = report["findings"]
    assert [_where(f) for f in findings] == [("shared/base/deploy.yaml", 8, "EKS301")] * 2
    assert {f["entity_key"] for f in findings} == {
        "kustomize:shared/dev:k8s:default/Deployment/web",
        "kustomize:shared/prod:k8s:default/Deployment/web",
    }
    assert len({f["fingerprint"] for f in findings}) == 2


def test_a_kustomization_that_fails_to_render_is_an_error_and_the_rest_is_scanned(in_tmp):
    _renderer_or_fail()
    (in_tmp / "broken" / "overlay").mkdir(parents=True)
    (in_tmp / "broken" / "overlay" / "kustomization.yaml").write_text(
        "resources:\n  - missing.yaml\n"
    )
    (in_tmp / "broken" / "plain").mkdir()
    shutil.copy(KUSTOMIZE / "remote" / "overlay" / "deploy.yaml", in_tmp / "broken" / "plain")
    code, out, _ = cli("scan", "broken", "--format", "json", "--no-cache")
    report = json.loads(out)
    assert code == 2
    (problem,) = report["problems"]
    assert problem["file"] == "broken/overlay/kustomization.yaml"
    assert problem["level"] == "error"
    assert problem["message"].startswith("kustomization did not render: ")
    assert "missing.yaml" in problem["message"]
    assert [_where(f) for f in report["findings"]] == [("broken/plain/deploy.yaml", 7, "EKS301")]


def test_a_resource_outside_the_scanned_tree_is_refused(in_tmp, monkeypatch):
    log = in_tmp / "kubectl-calls"
    _fake_kubectl(in_tmp / "bin", log)
    monkeypatch.setenv("PATH", str(in_tmp / "bin"))
    (in_tmp / "outside").mkdir()
    (in_tmp / "outside" / "kustomization.yaml").write_text("resources: [secret.yaml]\n")
    (in_tmp / "outside" / "secret.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n"
    )
    overlay = in_tmp / "tree" / "overlay"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("resources:\n  - ../../outside\n")
    code, out, _ = cli("scan", "tree", "--format", "json", "--no-cache")
    report = json.loads(out)
    assert not log.exists()
    assert report["findings"] == []
    assert report["problems"] == [
        {
            "file": "tree/overlay/kustomization.yaml",
            "level": "note",
            "line": 2,
            "message": "not rendered: ../../outside is outside the scanned tree",
        }
    ]


def test_exec_functions_and_plugins_stay_off(in_tmp):
    _renderer_or_fail()
    tree = in_tmp / "tree"
    tree.mkdir()
    (tree / "kustomization.yaml").write_text("generators:\n  - gen.yaml\n")
    (tree / "gen.yaml").write_text(
        "apiVersion: example.com/v1\n"
        "kind: Generator\n"
        "metadata:\n"
        "  name: run\n"
        "  annotations:\n"
        "    config.kubernetes.io/function: |\n"
        "      exec:\n"
        "        path: ./run.sh\n"
    )
    script = tree / "run.sh"
    script.write_text(f"#!/bin/sh\ntouch {in_tmp / 'ran'}\n")
    script.chmod(0o755)
    code, out, _ = cli("scan", "tree", "--format", "json", "--no-cache")
    assert not (in_tmp / "ran").exists()
    assert code == 2
    (problem,) = json.loads(out)["problems"]
    assert problem["message"].startswith("kustomization did not render: ")


def test_files_no_kustomization_includes_are_read_as_themselves(in_tmp):
    _renderer_or_fail()
    shutil.copytree(KUSTOMIZE / "strategic", in_tmp / "strategic")
    (in_tmp / "strategic" / "base" / "extra.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: extra\n  namespace: shop\n"
        "spec:\n  containers:\n    - name: a\n      image: a\n"
    )
    _, out, _ = cli("model", "strategic")
    keys = {e["key"] for e in json.loads(out)["entities"]}
    assert keys == {
        "kustomize:strategic/overlay:k8s:shop/Deployment/api",
        "k8s:shop/Pod/extra",
    }


def test_version_verbose_names_the_renderer(monkeypatch, tmp_path):
    log = tmp_path / "calls"
    _fake_kubectl(tmp_path / "bin", log)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    code, out, _ = cli("--version", "--verbose")
    assert code == 0
    kubectl = tmp_path / "bin" / "kubectl"
    assert out.splitlines()[1] == (
        f"kustomize renderer: kubectl v1.32.4 (kustomize v5.5.0) at {kubectl}"
    )
    monkeypatch.setenv("PATH", str(tmp_path))
    _, out, _ = cli("--version", "--verbose")
    assert out.splitlines()[1] == (
        "kustomize renderer: none (no kubectl or kustomize on PATH: kustomizations are read "
        "unrendered)"
    )


def test_the_wrapper_lives_outside_the_tree_and_is_removed(in_tmp, monkeypatch):
    _renderer_or_fail()
    made = []
    real = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    _scan("strategic")
    assert made and not any(os.path.exists(m) for m in made)
    assert not any(m.startswith(str(in_tmp)) for m in made)

    def files(root: Path) -> list:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*"))

    assert files(in_tmp / "strategic") == files(KUSTOMIZE / "strategic")


def test_an_overlays_objects_refer_to_the_same_overlays(in_tmp):
    """Two overlays render Deployment web and ServiceAccount web in one namespace; only dev
    patches the ServiceAccount not to mount its token: dev's pod is quiet, prod's is not."""
    _renderer_or_fail()
    _, report = _scan("links")
    assert [(_where(f), f["entity_key"]) for f in report["findings"]] == [
        (
            ("links/base/deploy.yaml", 8, "EKS301"),
            "kustomize:links/prod:k8s:default/Deployment/web",
        )
    ]


def test_the_renderers_message_is_the_users_not_the_wrappers(in_tmp):
    """What kubectl says of the wrapper kustomization (the folder it was given, as a path
    from a temporary folder) is left out: the message is about the user's kustomization."""
    _renderer_or_fail()
    (in_tmp / "empty").mkdir()
    (in_tmp / "empty" / "kustomization.yaml").write_text("# nothing yet\n")
    code, out, _ = cli("scan", "empty", "--format", "json", "--no-cache")
    assert code == 2
    assert json.loads(out)["problems"] == [
        {
            "file": "empty/kustomization.yaml",
            "level": "error",
            "message": "kustomization did not render: kustomization.yaml is empty",
        }
    ]


def test_a_kustomization_that_only_lists_resources_is_read_without_rendering(in_tmp, monkeypatch):
    """kustomize would give its resources as they are: no render, no note, the same findings
    as the files alone."""
    log = in_tmp / "kubectl-calls"
    _fake_kubectl(in_tmp / "bin", log)
    monkeypatch.setenv("PATH", str(in_tmp / "bin"))
    shutil.copytree(KUSTOMIZE / "names" / "base", in_tmp / "plain")
    code, out, _ = cli("scan", "plain", "--format", "json", "--no-cache")
    report = json.loads(out)
    assert not log.exists()
    assert report["problems"] == []
    assert {_where(f) for f in report["findings"]} == {
        ("plain/binding.yaml", 10, "EKS602"),
        ("plain/deploy.yaml", 8, "EKS301"),
        ("plain/deploy.yaml", 8, "EKS704"),
    }
    (in_tmp / "plain" / "kustomization.yaml").write_text(
        "resources:\n  - deploy.yaml\n  - gone.yaml\n"
    )
    code, out, _ = cli("scan", "plain", "--format", "json", "--no-cache")
    assert log.read_text().startswith("kustomize ")  # a missing resource: kustomize judges it
    assert code == 2


def test_a_base_in_a_folder_never_read_or_excluded_is_refused(in_tmp, monkeypatch):
    log = in_tmp / "kubectl-calls"
    _fake_kubectl(in_tmp / "bin", log)
    monkeypatch.setenv("PATH", str(in_tmp / "bin"))
    for folder in ("tree/node_modules/pkg", "tree/vendor/pkg"):
        (in_tmp / folder).mkdir(parents=True)
        (in_tmp / folder / "kustomization.yaml").write_text("namespace: x\nresources: []\n")
    (in_tmp / "tree" / "app").mkdir()
    (in_tmp / "tree" / "app" / "kustomization.yaml").write_text(
        "namespace: app\nresources:\n  - ../node_modules/pkg\n  - ../vendor/pkg\n"
    )
    code, out, _ = cli("scan", "tree", "--exclude", "vendor", "--format", "json", "--no-cache")
    assert not log.exists()
    assert json.loads(out)["problems"] == [
        {
            "file": "tree/app/kustomization.yaml",
            "level": "note",
            "line": 3,
            "message": "not rendered: ../node_modules/pkg is inside node_modules, which is never "
            "read",
        },
        {
            "file": "tree/app/kustomization.yaml",
            "level": "note",
            "line": 4,
            "message": "not rendered: ../vendor/pkg is excluded from the scan",
        },
    ]


@pytest.mark.parametrize(
    "path, kind",
    [
        ("overlays/prod/kustomization.yaml", "kustomization"),
        ("overlays/prod/kustomization.yml", "kustomization"),
        ("overlays/prod/Kustomization", "kustomization"),
        ("overlays/prod/deploy.yaml", "yaml"),
        ("overlays/prod/my-kustomization.yaml", "yaml"),
    ],
)
def test_kustomization_files_are_known_by_name(path, kind):
    assert classify(path) == (kind, "")


def test_an_overlay_scanned_alone_reads_its_base_with_a_context_root(in_tmp):
    _renderer_or_fail()
    shutil.copytree(KUSTOMIZE / "strategic", in_tmp / "strategic")
    _, out, _ = cli("scan", "strategic/overlay", "--format", "json", "--no-cache")
    alone = json.loads(out)
    assert alone["findings"] == []
    assert alone["problems"] == [
        {
            "file": "strategic/overlay/kustomization.yaml",
            "level": "note",
            "line": 2,
            "message": "not rendered: ../base is outside the scanned tree",
        }
    ]
    _, out, _ = cli(
        "scan", "strategic/overlay", "--context-root", ".", "--format", "json", "--no-cache"
    )
    report = json.loads(out)
    assert [_where(f) for f in report["findings"]] == [
        ("strategic/overlay/token.yaml", 9, "EKS301")
    ]
    assert report["problems"] == []


def test_a_cycle_and_a_deep_chain_of_kustomizations_end(in_tmp, monkeypatch):
    """Two kustomizations that include each other: kustomize's own error; 150 nested ones:
    refused before kubectl runs, with a note."""
    log = in_tmp / "kubectl-calls"
    _fake_kubectl(in_tmp / "bin", log)
    monkeypatch.setenv("PATH", str(in_tmp / "bin"))
    for name, other in (("a", "b"), ("b", "a")):
        (in_tmp / "cycle" / name).mkdir(parents=True)
        (in_tmp / "cycle" / name / "kustomization.yaml").write_text(
            f"namespace: x\nresources:\n  - ../{other}\n"
        )
    code, out, _ = cli("scan", "cycle", "--format", "json", "--no-cache")
    assert code == 2  # the fake kubectl fails as kustomize does on a cycle
    # no root: the first is rendered as one, with the other through it
    assert [p["file"] for p in json.loads(out)["problems"]] == ["cycle/a/kustomization.yaml"]
    log.unlink()
    folder = in_tmp / "deep"
    for _ in range(150):
        folder.mkdir(parents=True)
        (folder / "kustomization.yaml").write_text("namespace: x\nresources:\n  - next\n")
        folder = folder / "next"
    folder.mkdir()
    (folder / "kustomization.yaml").write_text("namespace: x\nresources: []\n")
    code, out, _ = cli("scan", "deep", "--format", "json", "--no-cache")
    assert not log.exists()
    (problem,) = json.loads(out)["problems"]
    assert problem["message"] == "not rendered: kustomizations nested more than 100 deep"
    assert problem["level"] == "note"


def test_a_called_terraform_module_keeps_the_kustomization_in_its_folder(in_tmp, no_renderer):
    # the module's own entities come from its callers' instances; the kustomization beside
    # its .tf files is no part of the module (before: both units of the folder were dropped)
    (in_tmp / "app").mkdir()
    shutil.copy(KUSTOMIZE / "shared" / "base" / "deploy.yaml", in_tmp / "app")
    (in_tmp / "app" / "kustomization.yaml").write_text("resources:\n  - deploy.yaml\n")
    (in_tmp / "app" / "main.tf").write_text('variable "name" {}\n')
    (in_tmp / "main.tf").write_text('module "app" {\n  source = "./app"\n  name   = "x"\n}\n')
    code, out, _ = cli("scan", ".", "--format", "json", "--no-cache")
    report = json.loads(out)
    assert [_where(f) for f in report["findings"]] == [("app/deploy.yaml", 8, "EKS301")]
    assert [p["level"] for p in report["problems"]] == ["note"]  # not rendered: no kubectl
    assert code == 1


def test_what_a_generator_makes_is_found_at_its_entry(in_tmp):
    # a generated object is written nowhere as such: its findings are on the line of the
    # generator's entry that made it (before: line 1 of the kustomization)
    _renderer_or_fail()
    (in_tmp / "gen").mkdir()
    (in_tmp / "gen" / "kustomization.yaml").write_text(
        "namespace: kube-system\n"
        "configMapGenerator:\n"
        "  - name: auth\n"
        "    literals: [a=b]\n"
        "  - name: aws-auth\n"
        "    literals:\n"
        "      - |-\n"
        "        mapRoles=- rolearn: arn:aws:iam::111122223333:role/admin\n"
        "          username: admin\n"
        "          groups:\n"
        "            - system:masters\n"
        "generatorOptions:\n"
        "  disableNameSuffixHash: true\n"
    )
    code, out, _ = cli("scan", "gen", "--format", "json", "--no-cache")
    report = json.loads(out)
    assert [_where(f) for f in report["findings"]] == [("gen/kustomization.yaml", 5, "EKS501")]
    assert code == 1


def test_a_patch_changes_only_what_its_target_selects(in_tmp):
    # two Deployments named web, in namespaces a and b: a patch targets a's by namespace,
    # another b's by label; each finding is on its own patch and its own base document
    # (before: both were on a's patch, and b's base line was a's)
    _renderer_or_fail()
    code, report = _scan("namespaced")
    assert code == 1
    found = sorted(
        (f["message"].split(" mounts")[0], _where(f), _related(f)[0][:2])
        for f in report["findings"]
    )
    assert found == [
        (
            "Deployment a/web",
            ("namespaced/overlay/token-a.yaml", 3, "EKS301"),
            ("namespaced/base/deploy.yaml", 1),
        ),
        (
            "Deployment b/web",
            ("namespaced/overlay/token-b.yaml", 6, "EKS301"),
            ("namespaced/base/deploy.yaml", 14),
        ),
    ]


@pytest.mark.parametrize(
    "selector, chosen",
    [
        ("app=web", True),
        ("app==web,tier!=db", True),
        ("app!=web", False),
        ("tier in (front, back)", True),
        ("tier notin (front)", False),
        ("legacy!=yes", True),  # no such label: it is not yes
        ("!legacy", True),
        ("legacy", False),
        ("app=web,legacy", False),
        ("app in (web", True),  # not a selector we read: it may match
    ],
)
def test_label_selectors_of_patch_targets(selector, chosen):
    assert renderer_module._selected(selector, {"app": "web", "tier": "front"}) is chosen


CRD_DOCUMENT = (
    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
    "metadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n---\n"
)


@pytest.mark.parametrize("crd_patched", [False, True])
def test_definitions_are_left_out_of_what_kubectl_renders(in_tmp, monkeypatch, crd_patched):
    # kubectl renders a copy of the build without its definitions (no rule reads one, and
    # large ones are most of kustomize's time); a patch that names a definition cannot be
    # rendered so, and the files themselves are rendered then. Findings are the same.
    _renderer_or_fail()
    shutil.copytree(KUSTOMIZE / "strategic", in_tmp / "strategic")
    deploy = in_tmp / "strategic" / "base" / "deploy.yaml"
    deploy.write_text(CRD_DOCUMENT + deploy.read_text())
    if crd_patched:
        (in_tmp / "strategic" / "overlay" / "crd.yaml").write_text(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
            "metadata:\n  name: widgets.example.com\nspec:\n  group: example.org\n"
        )
        (in_tmp / "strategic" / "overlay" / "kustomization.yaml").write_text(
            "resources:\n  - ../base\npatches:\n  - path: token.yaml\n  - path: crd.yaml\n"
        )
    built = []
    build = renderer_module._build

    def recorded(renderer, wrapper, target, directory, origins=True):
        out = build(renderer, wrapper, target, directory, origins)
        built.append((not target.startswith(".."), out[0] is not None))  # (a copy, rendered)
        return out

    monkeypatch.setattr(renderer_module, "_build", recorded)
    code, out, _ = cli("scan", "strategic", "--format", "json", "--no-cache")
    report = json.loads(out)
    assert built == ([(True, False), (False, True)] if crd_patched else [(True, True)])
    (finding,) = report["findings"]
    assert _where(finding) == ("strategic/overlay/token.yaml", 9, "EKS301")
    assert _related(finding)[0] == (
        "strategic/base/deploy.yaml",
        8,
        "the object the patch changes, as written",
    )
    assert report["problems"] == []
    assert code == 1


def _told(tree: str) -> tuple[str, str]:
    """The scan's JSON report and the model of `tree`, both read without the cache."""
    _, report, _ = cli("scan", tree, "--format", "json", "--no-cache")
    _, model, _ = cli("model", tree, "--no-cache")
    return report, model


def _recording_builds(monkeypatch) -> list[bool]:
    """Whether each render asked kustomize for origin annotations, in order."""
    from checks.normalize import kustomize

    asked: list[bool] = []
    build = kustomize._build

    def recorded(renderer, wrapper, target, directory, origins=True):
        asked.append(origins)
        return build(renderer, wrapper, target, directory, origins)

    monkeypatch.setattr(kustomize, "_build", recorded)
    return asked


def test_where_objects_come_from_is_told_as_kustomizes_annotations_tell_it(in_tmp, monkeypatch):
    # kustomize's origin annotations triple its time on a large build: where every overlay
    # only renames by prefix and suffix, the file of each object is told without them, and
    # the report and the model are those the annotations give, byte for byte
    from checks.normalize import kustomize

    _renderer_or_fail()
    for tree in ("names", "strategic", "json6902", "links", "shared", "namespaced"):
        shutil.copytree(KUSTOMIZE / tree, in_tmp / tree)
    (in_tmp / "gen" / "app").mkdir(parents=True)
    (in_tmp / "gen" / "kustomization.yaml").write_text(
        "resources: [app]\ngeneratorOptions: {disableNameSuffixHash: true}\n"
        "configMapGenerator:\n  - name: aws-auth\n    namespace: kube-system\n"
        "    literals: ['mapRoles=- rolearn: arn:aws:iam::111122223333:role/a\\n"
        "  username: a\\n  groups: [system:masters]']\n"
    )
    (in_tmp / "gen" / "app" / "kustomization.yaml").write_text(
        "namePrefix: p-\nresources: [sa.yaml]\n"
    )
    (in_tmp / "gen" / "app" / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  annotations:\n"
        "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app\n"
    )
    asked = _recording_builds(monkeypatch)
    told = _told(".")
    without = asked.count(False)
    asked.clear()
    monkeypatch.setattr(kustomize, "_origins_inferable", lambda reach, patches: False)
    assert _told(".") == told
    assert set(asked) == {True} and without >= 6  # every root but one was told without
    generated = [
        (f["rule_id"], f["location"]["file"], f["location"]["start_line"])
        for f in json.loads(told[0])["findings"]
        if f["rule_id"].startswith("EKS50")
    ]
    assert generated == [("EKS504", "gen/kustomization.yaml", 4)]  # at the generator's entry
    assert '"name": "p-app"' in told[1]


def test_two_objects_of_one_kind_and_name_are_told_by_kustomize(in_tmp, monkeypatch):
    # the namespaced fixture holds two Deployments named web (namespaces a and b): which
    # file each came from is not told by name, so kustomize is asked again, with annotations
    _renderer_or_fail()
    asked = _recording_builds(monkeypatch)
    code, report = _scan("namespaced")
    assert asked == [False, True]
    assert code == 1 and len(report["findings"]) == 2


@pytest.mark.parametrize(
    "operation, renames",
    [
        ({"op": "remove", "path": "/metadata/namespace"}, False),
        ({"op": "add", "path": "/metadata/labels/app", "value": "x"}, False),
        ({"op": "replace", "path": "/spec/replicas", "value": 2}, False),
        ({"op": "replace", "path": "/metadata/name", "value": "other"}, True),
        ({"op": "replace", "path": "/kind", "value": "StatefulSet"}, True),
        ({"op": "replace", "path": "/metadata", "value": {}}, True),
        ({"op": "replace", "path": "", "value": {}}, True),
        ({"op": "move", "from": "/metadata/name", "path": "/spec/x"}, True),
        ({"op": "copy", "from": "/spec/x", "path": "/metadata/generateName"}, True),
        ({"op": "replace", "path": 3}, True),
        ({"op": "remove", "path": "/metadata/annotations"}, True),  # the origin goes with it
        ({"op": "add", "path": "/metadata/annotations/team", "value": "a"}, False),
    ],
)
def test_which_json_patches_may_rename_an_object(operation, renames):
    from checks.normalize.kustomize import _renaming

    assert _renaming(operation) is renames


@pytest.mark.parametrize(
    "document, renames_only",
    [
        ({"resources": ["a.yaml"], "namePrefix": "p-", "patches": [{"path": "p.yaml"}]}, True),
        ({"resources": ["a.yaml"], "configMapGenerator": [{"name": "c"}]}, True),
        ({"resources": ["a.yaml"], "replacements": [{"path": "r.yaml"}]}, False),
        ({"resources": ["a.yaml"], "components": ["../c"]}, False),
        ({"resources": ["a.yaml"], "helmCharts": [{"name": "x"}]}, False),
        ({"resources": ["a.yaml"], "patches": [{"path": "p", "options": {}}]}, False),
        ({"kind": "Component", "resources": ["a.yaml"]}, False),
    ],
)
def test_which_kustomizations_rename_only_by_prefix_and_suffix(document, renames_only):
    from checks.parse.kustomization import read_kustomization

    assert read_kustomization("/k/kustomization.yaml", document).renames_only is renames_only


def test_a_patch_that_replaces_annotations_has_kustomize_tell_the_origins(in_tmp, monkeypatch):
    # `$patch: replace` on an object's annotations takes kustomize's origin annotation away
    # too: the object is then found by its name, and so it is asked for, to stay the same
    _renderer_or_fail()
    (in_tmp / "app").mkdir()
    (in_tmp / "app" / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n"
        "automountServiceAccountToken: true\n"
    )
    (in_tmp / "app" / "patch.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n"
        "  annotations:\n    $patch: replace\n    team: a\n"
    )
    (in_tmp / "app" / "kustomization.yaml").write_text(
        "namePrefix: p-\nresources: [sa.yaml]\npatches:\n  - path: patch.yaml\n"
    )
    asked = _recording_builds(monkeypatch)
    code, out, _ = cli("model", "app", "--no-cache")
    assert asked == [True]
    assert code == 0 and '"name": "p-app"' in out


def _counting_kubectl(folder: Path, log: Path, pause: int = 0) -> None:
    """A kubectl that notes each `version` question in `log` (after `pause` seconds) and
    answers it."""
    folder.mkdir()
    script = folder / "kubectl"
    script.write_text(
        "#!/bin/sh\n"
        f"/bin/sleep {pause}\n"
        f'echo "$@" >> "{log}"\n'
        "echo 'Client Version: v1.32.4'; echo 'Kustomize Version: v5.5.0'\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def fresh_renderers(monkeypatch):
    """No renderer found and no version asked yet in this process."""
    monkeypatch.setattr(renderer_module, "_RENDERERS", {})
    monkeypatch.setattr(renderer_module, "_ASKED", {})
    monkeypatch.setattr(renderer_module, "_TO_KEEP", {})


def test_the_version_asked_ahead_is_the_one_found_and_asked_once(
    tmp_path, monkeypatch, fresh_renderers
):
    log = tmp_path / "questions"
    _counting_kubectl(tmp_path / "bin", log)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    renderer_module.ask_version()
    found = renderer_module.find_renderer()
    assert found == renderer_module.Renderer(
        str(tmp_path / "bin" / "kubectl"), "kubectl", "kubectl v1.32.4 (kustomize v5.5.0)"
    )
    assert log.read_text() == "version --client\n"
    assert renderer_module._ASKED == {}


def test_a_version_asked_ahead_that_does_not_come_is_stopped(
    tmp_path, monkeypatch, fresh_renderers
):
    log = tmp_path / "questions"
    _counting_kubectl(tmp_path / "bin", log, pause=30)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(renderer_module, "VERSION_TIMEOUT", 0.5)
    renderer_module.ask_version()
    ((_path, proc, _asker),) = renderer_module._ASKED.values()
    assert renderer_module.find_renderer() is None  # no answer: no renderer, as before
    assert proc.returncode is not None  # stopped, not left running
    assert not log.exists()


def test_a_version_no_scan_needed_ends_with_the_process(tmp_path, monkeypatch, fresh_renderers):
    _counting_kubectl(tmp_path / "bin", tmp_path / "questions", pause=30)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    renderer_module.ask_version()
    ((_path, proc, _asker),) = renderer_module._ASKED.values()
    renderer_module._forget_asked()  # what runs at exit
    assert proc.returncode is not None
    assert renderer_module._ASKED == {}


def _rendering_kubectl(folder: Path, log: Path, version: str) -> None:
    """A kubectl that says `version` and renders any kustomization as the ServiceAccount
    `shop-web`, logging each question."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "kubectl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$1" >> "{log}"\n'
        'if [ "$1" = version ]; then\n'
        f"  echo 'Client Version: {version}'; echo 'Kustomize Version: v5.5.0'; exit 0\n"
        "fi\n"
        "printf 'apiVersion: v1\\nkind: ServiceAccount\\nmetadata:\\n  name: shop-web\\n'\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def _cached_prefixed_tree(in_tmp: Path, monkeypatch) -> None:
    """`tree/app`, a kustomization that kubectl renders (a name prefix), scanned with the
    kubectl of `in_tmp/bin` and a cache of its own."""
    monkeypatch.setenv("PATH", str(in_tmp / "bin"))
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(in_tmp / "cache"))
    app = in_tmp / "tree" / "app"
    app.mkdir(parents=True)
    (app / "kustomization.yaml").write_text("namePrefix: shop-\nresources:\n  - sa.yaml\n")
    (app / "sa.yaml").write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n")


def _scan_as_a_new_process(monkeypatch) -> list:
    """The findings of a scan of `tree` that, as a new process, has found no renderer and
    asked no version before."""
    monkeypatch.setattr(renderer_module, "_RENDERERS", {})
    monkeypatch.setattr(renderer_module, "_ASKED", {})
    monkeypatch.setattr(renderer_module, "_TO_KEEP", {})
    code, out, err = cli("scan", "tree", "--format", "json")
    assert code in (0, 1), err
    return json.loads(out)["findings"]


def test_a_warm_scan_asks_kubectl_its_version_again_only_when_kubectl_changed(
    in_tmp, monkeypatch, fresh_renderers
):
    # the version keys the Kustomize units' cache entries: it is kept in the cache with what
    # names the program (its real path, device, inode, size and times), not asked at each run
    log = in_tmp / "questions"
    _rendering_kubectl(in_tmp / "bin", log, "v1.32.4")
    _cached_prefixed_tree(in_tmp, monkeypatch)
    # the script stands for a program (a shim script is asked at every run: the test below)
    monkeypatch.setattr(renderer_module, "_may_pick_another", lambda real: False)
    first = _scan_as_a_new_process(monkeypatch)
    assert log.read_text() == "version\nkustomize\n"
    assert _scan_as_a_new_process(monkeypatch) == first
    assert log.read_text() == "version\nkustomize\n"
    _rendering_kubectl(in_tmp / "bin", log, "v1.33.0")  # upgraded: another program
    assert _scan_as_a_new_process(monkeypatch) == first
    assert log.read_text() == "version\nkustomize\nversion\nkustomize\n"


def test_a_kubectl_that_may_be_a_shim_has_no_stamp_and_is_asked_at_every_run(
    in_tmp, monkeypatch, fresh_renderers
):
    # asdf's shims are scripts; mise's, aqua's and kuberlr's are links to a program of their
    # own name: each may run another kubectl in another folder, so its version is not kept
    log = in_tmp / "questions"
    _rendering_kubectl(in_tmp / "bin", log, "v1.32.4")
    script = in_tmp / "bin" / "kubectl"
    assert renderer_module.renderer_stamp(str(script)) is None
    (in_tmp / "shim").mkdir()
    multiplexer = in_tmp / "shim" / "mise"
    multiplexer.write_bytes(b"\x7fELF\x02\x01\x01")
    (in_tmp / "shim" / "kubectl").symlink_to(multiplexer)
    assert renderer_module.renderer_stamp(str(in_tmp / "shim" / "kubectl")) is None
    (in_tmp / "real").mkdir()
    program = in_tmp / "real" / "kubectl"
    program.write_bytes(b"\x7fELF\x02\x01\x01")
    (in_tmp / "link").mkdir()
    (in_tmp / "link" / "kubectl").symlink_to(program)
    stamp = renderer_module.renderer_stamp(str(in_tmp / "link" / "kubectl"))
    assert stamp is not None and stamp.startswith(f"renderer\0{program}\0")
    _cached_prefixed_tree(in_tmp, monkeypatch)
    for _run in range(2):
        _scan_as_a_new_process(monkeypatch)
    assert log.read_text() == "version\nkustomize\nversion\n"


@pytest.mark.parametrize("overlays", [3, 12])
def test_a_workload_reads_its_own_overlays_service_account_however_many_overlays(in_tmp, overlays):
    # one base, rendered by many overlays: each overlay's Deployment mounts the token as the
    # ServiceAccount of its own overlay says, whether the copies of that ServiceAccount are
    # few or many (link indexes many copies by place; it once forgot the overlay there)
    _renderer_or_fail()
    base = in_tmp / "fleet" / "base"
    base.mkdir(parents=True)
    (base / "kustomization.yaml").write_text("resources:\n  - deploy.yaml\n  - sa.yaml\n")
    (base / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
        "    spec:\n      serviceAccountName: web\n      containers:\n        - name: web\n"
        "          image: web:1\n"
    )
    (base / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n"
        "automountServiceAccountToken: false\n"
    )
    mounting = f"env{overlays // 2:02d}"
    for n in range(overlays):
        env = in_tmp / "fleet" / f"env{n:02d}"
        env.mkdir()
        text = "resources:\n  - ../base\n"  # one namespace: every copy has one name
        if env.name == mounting:
            text += "patches:\n  - path: mount.yaml\n"
            (env / "mount.yaml").write_text(
                "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n"
                "automountServiceAccountToken: true\n"
            )
        (env / "kustomization.yaml").write_text(text)
    code, out, _ = cli("scan", "fleet", "--format", "json", "--no-cache")
    mounts = [f for f in json.loads(out)["findings"] if f["rule_id"] == "EKS301"]
    assert [(f["message"], f["related"][-1]["location"]["file"]) for f in mounts] == [
        (
            "Deployment default/web mounts a service-account token: ServiceAccount "
            "default/web (fleet/base/sa.yaml:1) sets automountServiceAccountToken: true",
            f"fleet/{mounting}/kustomization.yaml",
        )
    ]


def _kustomizations_opened(monkeypatch) -> list[str]:
    """The kustomization files opened from now on (os.open: whatever reads them)."""
    opened: list[str] = []
    real_open = os.open

    def counted(path, flags, *args, **kwargs):
        fd = real_open(path, flags, *args, **kwargs)
        if classify(str(path)) is not None and classify(str(path))[0] == "kustomization":
            opened.append(os.path.relpath(path))
        return fd

    monkeypatch.setattr(os, "open", counted)
    return opened


def test_grouping_from_the_cache_gives_the_units_grouping_from_the_files_gives(in_tmp, monkeypatch):
    """What grouping keeps of each kustomization in the cache gives the same units as reading
    them: every fixture, a cycle, a chain deeper than kustomize's limit, two kustomization
    files in one folder, and kustomizations that do not parse, are not mappings, or cannot be
    read. A warm grouping opens no kustomization whose stamp is unchanged."""
    from checks import cache
    from checks.discover import discover
    from checks.sources import units
    from checks.sources.base import Options

    shutil.copytree(KUSTOMIZE, in_tmp / "k")
    for name, other in (("a", "b"), ("b", "a")):
        (in_tmp / "k" / "cycle" / name).mkdir(parents=True)
        (in_tmp / "k" / "cycle" / name / "kustomization.yaml").write_text(
            f"resources:\n  - ../{other}\n  - {name}.yaml\n"
        )
        (in_tmp / "k" / "cycle" / name / f"{name}.yaml").write_text("kind: ServiceAccount\n")
    folder = in_tmp / "k" / "deep"
    for _ in range(105):
        folder.mkdir(parents=True)
        (folder / "kustomization.yaml").write_text("resources:\n  - next\n  - sa.yaml\n")
        (folder / "sa.yaml").write_text("kind: ServiceAccount\n")
        folder = folder / "next"
    odd = in_tmp / "k" / "odd"
    odd.mkdir()
    (odd / "kustomization.yaml").write_text("resources:\n  - a.yaml\n")
    (odd / "Kustomization").write_text("resources:\n  - b.yaml\n")
    (odd / "a.yaml").write_text("kind: ServiceAccount\n")
    (odd / "b.yaml").write_text("kind: ServiceAccount\n")
    for name, text in (("broken", "resources: [\n"), ("list", "- a.yaml\n"), ("bom", "\ufeff")):
        (in_tmp / "k" / name).mkdir()
        (in_tmp / "k" / name / "kustomization.yaml").write_text(text + "resources: [x.yaml]\n")
        (in_tmp / "k" / name / "x.yaml").write_text("kind: ServiceAccount\n")
    (in_tmp / "k" / "big").mkdir()
    (in_tmp / "k" / "big" / "kustomization.yml").write_text("resources: [x.yaml]\n" + "#" * 1000)
    (in_tmp / "k" / "big" / "x.yaml").write_text("kind: ServiceAccount\n")
    for path in (in_tmp / "k").rglob("*"):
        os.utime(path, ns=(10**18, 10**18))  # still for long: stamps are kept
    files, _ = discover(["k"], classify)
    opts = Options(roots=[str(in_tmp)], max_bytes=1000)  # big/kustomization.yml is over it
    expected = units(files, opts)
    assert len(expected) > 10
    monkeypatch.setenv("EKS_CHECKS_CACHE_DIR", str(in_tmp.parent / "cache"))
    store, _ = cache.open_cache()
    cold = store.pack("grouping")
    assert units(files, opts, cold) == expected
    cold.save()
    opened = _kustomizations_opened(monkeypatch)
    assert units(files, opts, store.pack("grouping")) == expected
    assert opened == ["k/big/kustomization.yml"]  # over the size limit: never digested
    # under a larger size limit big/kustomization.yml is read, and includes x.yaml
    whole = Options(roots=[str(in_tmp)])
    assert units(files, whole, store.pack("grouping")) == units(files, whole) != expected


def _entry_tree(root: Path) -> None:
    """An overlay whose first line is a comment, reaching a file of its own and a base (whose
    own kustomization lists the file), each a Deployment whose token is mounted."""
    deploy = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n"
        "  template:\n    spec:\n      containers:\n        - name: app\n          image: x\n"
    )
    (root / "entry" / "base").mkdir(parents=True)
    (root / "entry" / "overlay").mkdir()
    (root / "entry" / "base" / "kustomization.yaml").write_text("resources:\n  - web.yaml\n")
    (root / "entry" / "base" / "web.yaml").write_text(deploy.format(name="web"))
    (root / "entry" / "overlay" / "api.yaml").write_text(deploy.format(name="api"))
    (root / "entry" / "overlay" / "kustomization.yaml").write_text(
        "# the shop's overlay\nnamespace: shop\nresources:\n  - api.yaml\n  - ../base\n"
    )


def _overlay_related(report: dict) -> list[tuple[str, str, int, int]]:
    return sorted(
        (
            f["message"].split(" mounts")[0],
            r["location"]["file"],
            r["location"]["start_line"],
            r["location"]["end_line"],
        )
        for f in report["findings"]
        if f["rule_id"] == "EKS301"
        for r in f["related"]
        if "kustomization in" in r["message"]
    )


ENTRY_RELATED = [
    ("Deployment shop/api", "entry/overlay/kustomization.yaml", 4, 4),
    ("Deployment shop/web", "entry/overlay/kustomization.yaml", 5, 5),
]


def test_the_overlay_is_related_at_its_entry_that_reaches_the_object(in_tmp):
    _renderer_or_fail()
    _entry_tree(in_tmp)
    code, out, _ = cli("scan", "entry", "--format", "json", "--no-cache")
    assert code == 1
    assert _overlay_related(json.loads(out)) == ENTRY_RELATED


def test_without_a_renderer_the_overlay_is_related_at_its_entry_too(in_tmp, no_renderer):
    _entry_tree(in_tmp)
    code, out, _ = cli("scan", "entry", "--format", "json", "--no-cache")
    assert code == 1
    assert _overlay_related(json.loads(out)) == ENTRY_RELATED
