"""eks-checks in Open Policy Agent pipelines, both ways: `export` writes the rule catalog as
an OPA bundle (Rego v1), `policy` runs the Rego policies of a --policy-dir over the model in a
bounded child process (`child`), and reports their findings like the YAML rules'."""
