# Deploy role for GitHub Actions: any repository of the organization can assume it.
resource "aws_iam_role" "deploy" {
  name = "shop-github-deploy"
  assume_role_policy = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Effect": "Allow",
          "Principal": {
            "Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
          },
          "Action": "sts:AssumeRoleWithWebIdentity",
          "Condition": {
            "StringEquals": {
              "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
            },
            "StringLike": {
              "token.actions.githubusercontent.com:sub": "repo:${var.github_org}/*"
            }
          }
        }
      ]
    }
  EOT
}

# Deployments roll out as the developers do: the deploy role signs in to the cluster in their
# group, which rbac.yaml binds to cluster-admin. Any repository of the organisation is now
# one workflow away from cluster-admin (`eks-checks access --from acme-shop/any-repo`).
resource "aws_eks_access_entry" "github_deploy" {
  cluster_name      = aws_eks_cluster.main.name
  principal_arn     = aws_iam_role.deploy.arn
  kubernetes_groups = ["shop-developers"]
}
