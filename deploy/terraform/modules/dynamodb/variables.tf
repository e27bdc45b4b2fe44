variable "name_prefix" {
  description = "Prefix of the table names: <prefix>-carts and <prefix>-sessions."
  type        = string
}

variable "hash_key" {
  description = "Name of the string partition key of both tables; must match the store's DynamoDB adapter."
  type        = string
  default     = "pk"
}

variable "ttl_attribute" {
  description = "Attribute holding the expiry time (epoch seconds) of sessions and carts."
  type        = string
  default     = "expires_at"
}

variable "deletion_protection" {
  description = "Protect both tables from deletion."
  type        = bool
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
