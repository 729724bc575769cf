# IRSA role for the payments service: the trust was copied from a wiki page and never scoped.
data "aws_iam_policy_document" "payments_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.eks.arn]
    }

    condition {
      test     = "StringLike"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:*:*"]
    }
  }
}

resource "aws_iam_role" "payments" {
  name               = "shop-payments"
  assume_role_policy = data.aws_iam_policy_document.payments_trust.json
}

# IRSA role for the catalog service: scoped to one service account, as it should be.
resource "aws_iam_role" "catalog" {
  name = "shop-catalog"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = aws_iam_openid_connect_provider.eks.arn }
      Condition = {
        StringEquals = {
          "${local.oidc_issuer}:sub" = "system:serviceaccount:shop:catalog"
          "${local.oidc_issuer}:aud" = "sts.amazonaws.com"
        }
      }
    }]
  })
}

# Pod Identity role for the image resizer: no confused-deputy guard.
resource "aws_iam_role" "resizer" {
  name               = "shop-resizer"
  assume_role_policy = file("${path.module}/policies/pod-identity-trust.json")
}

resource "aws_eks_pod_identity_association" "resizer" {
  cluster_name    = aws_eks_cluster.main.name
  namespace       = "shop"
  service_account = "resizer"
  role_arn        = aws_iam_role.resizer.arn
}

# "Temporary": the settlement job creates its own queues and topics.
resource "aws_iam_role_policy_attachment" "payments_admin" {
  role       = aws_iam_role.payments.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
