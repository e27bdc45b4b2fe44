variable "name_prefix" {
  description = "Prefix of the table names: <prefix>-<id> for each table of the definitions file."
  type        = string
}

variable "table_definitions_file" {
  description = "Path of the table definitions (ids, hash keys, key types, TTL attributes) shared with the storefront and the local stack; null: deploy/dynamodb/tables.json."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Protect the tables from deletion."
  type        = bool
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
