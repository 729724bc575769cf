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
