variable "cluster_name" {
  type    = string
  default = "shop-prod"
}

variable "admin_cidrs" {
  description = "Who may reach the public API endpoint"
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "node_hop_limit" {
  type    = number
  default = 2
}

variable "github_org" {
  type    = string
  default = "acme-shop"
}
