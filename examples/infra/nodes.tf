resource "aws_launch_template" "general" {
  name_prefix   = "shop-prod-general-"
  instance_type = "m6i.large"

  metadata_options {
    http_endpoint               = "enabled"
    http_put_response_hop_limit = var.node_hop_limit
  }
}

resource "aws_launch_template" "gpu" {
  name_prefix   = "shop-prod-gpu-"
  instance_type = "g5.xlarge"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

resource "aws_iam_role" "nodes" {
  name = "shop-prod-nodes"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "nodes_worker" {
  role       = aws_iam_role.nodes.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
}

# The nodes' role: any pod of the general node group reaches it through IMDS (hop limit 2).
resource "aws_eks_node_group" "general" {
  cluster_name    = aws_eks_cluster.main.name
  node_group_name = "general"
  node_role_arn   = aws_iam_role.nodes.arn
  subnet_ids      = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]

  scaling_config {
    desired_size = 3
    max_size     = 6
    min_size     = 3
  }

  launch_template {
    id      = aws_launch_template.general.id
    version = "$Latest"
  }
}
