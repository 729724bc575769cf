# Access entries, added while migrating away from aws-auth.
resource "aws_iam_role" "platform_admin" {
  name = "platform-admin"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_eks_access_entry" "platform_admin" {
  cluster_name  = aws_eks_cluster.main.name
  principal_arn = aws_iam_role.platform_admin.arn
  type          = "STANDARD"
}

resource "aws_eks_access_policy_association" "platform_admin" {
  cluster_name  = aws_eks_cluster.main.name
  principal_arn = aws_iam_role.platform_admin.arn
  policy_arn    = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  access_scope {
    type = "cluster"
  }
}

resource "aws_eks_access_entry" "release_bot" {
  cluster_name      = aws_eks_cluster.main.name
  principal_arn     = "arn:aws:iam::111122223333:user/release-bot"
  kubernetes_groups = ["shop-developers"]
}

# The cluster role was reused for the log shipper's pod identity.
resource "aws_eks_pod_identity_association" "log_shipper" {
  cluster_name    = aws_eks_cluster.main.name
  namespace       = "logging"
  service_account = "fluent-bit"
  role_arn        = aws_iam_role.cluster.arn
}

# People sign in through the company's Okta; groups arrive as Okta names them.
resource "aws_eks_identity_provider_config" "okta" {
  cluster_name = aws_eks_cluster.main.name

  oidc {
    identity_provider_config_name = "okta"
    issuer_url                    = "https://acme-shop.okta.com/oauth2/default"
    client_id                     = "0oa8k2shopprod"
    username_claim                = "email"
    groups_claim                  = "groups"
  }
}

# "Developers edit their own namespace", said the ticket; the scope says every namespace.
resource "aws_eks_access_entry" "developers" {
  cluster_name  = aws_eks_cluster.main.name
  principal_arn = "arn:aws:iam::111122223333:role/shop-developers"
}

resource "aws_eks_access_policy_association" "developers" {
  cluster_name  = aws_eks_cluster.main.name
  principal_arn = "arn:aws:iam::111122223333:role/shop-developers"
  policy_arn    = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"

  access_scope {
    type = "cluster"
  }
}

# Copied from the developers' entry for the on-call rotation: the same role, a second entry.
resource "aws_eks_access_entry" "oncall" {
  cluster_name  = aws_eks_cluster.main.name
  principal_arn = "arn:aws:iam::111122223333:role/shop-developers"
}

# Contractors sign in through their own Azure AD tenant, beside Okta.
resource "aws_eks_identity_provider_config" "contractors" {
  cluster_name = aws_eks_cluster.main.name

  oidc {
    identity_provider_config_name = "contractors"
    issuer_url                    = "https://login.microsoftonline.com/7d3c1a52-0000-4000-8000-5a1e5c0ffee0/v2.0"
    client_id                     = "b6f2c1d0-shop-prod"
    groups_claim                  = "groups"
    groups_prefix                 = "contractors:"
  }
}
