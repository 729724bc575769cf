#!/usr/bin/env bash
# Validate SARIF files with Microsoft's SARIF Multitool, GitHub code scanning rules enabled.
#
#   tests/sarif/validate.sh FILE.sarif...
#
# Installs @microsoft/sarif-multitool from the npm registry into $SARIF_MULTITOOL_HOME
# (default: ~/.cache/eks-checks/sarif-multitool) the first time. The Multitool exits 0 even
# when it finds errors, so this script reads its output log and fails on any error or warning
# (notes, the SARIF2xxx style advice, are printed but allowed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
home=${SARIF_MULTITOOL_HOME:-$HOME/.cache/eks-checks/sarif-multitool}
tool="$home/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
if [[ ! -x $tool ]]; then
  mkdir -p "$home"
  (cd "$home" && npm install --silent --no-audit --no-fund @microsoft/sarif-multitool@5 >/dev/null)
  chmod u+x "$tool"  # npm may skip the package's postinstall script
fi
status=0
for sarif in "$@"; do
  log=$(mktemp -d)/validation.sarif
  "$tool" validate "$sarif" --output "$log" --config "$here/multitool-github.xml" \
    --rule-kind "Gh;Sarif" --level "Error;Warning;Note" --quiet >/dev/null
  python3 - "$sarif" "$log" <<'PY' || status=1
import json, sys
sarif, log = sys.argv[1], sys.argv[2]
results = json.load(open(log, encoding="utf-8"))["runs"][0].get("results", [])
counts = {}
for r in results:
    level = r.get("level", "warning")
    counts[level] = counts.get(level, 0) + 1
    if level in ("error", "warning"):
        msg = r["message"].get("text") or "; ".join(map(str, r["message"].get("arguments", [])))
        print(f"{sarif}: {level} {r['ruleId']}: {msg}")
print(f"{sarif}: {counts.get('error', 0)} errors, {counts.get('warning', 0)} warnings, "
      f"{counts.get('note', 0)} notes")
sys.exit(1 if counts.get("error") or counts.get("warning") else 0)
PY
done
exit $status
