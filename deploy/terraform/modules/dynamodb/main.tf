# Carts and sessions live off the instances, on-demand so that a spike is never throttled by
# provisioned capacity. Names, keys and TTL attributes come from deploy/dynamodb/tables.json, the
# file the storefront compiles in and the local stack creates its tables from: one definition.

locals {
  table_definitions_file = coalesce(var.table_definitions_file, "${path.module}/../../../dynamodb/tables.json")
  table_definitions      = jsondecode(file(local.table_definitions_file)).tables
}

resource "aws_dynamodb_table" "this" {
  for_each = local.table_definitions

  name         = "${var.name_prefix}-${each.key}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = each.value.hash_key

  attribute {
    name = each.value.hash_key
    type = each.value.key_type
  }

  dynamic "ttl" {
    for_each = each.value.ttl_attribute == null ? [] : [each.value.ttl_attribute]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = var.deletion_protection
  tags                        = var.tags

  lifecycle {
    precondition {
      condition     = contains(["S", "N", "B"], each.value.key_type)
      error_message = "tables.${each.key}.key_type in ${local.table_definitions_file} must be S, N or B."
    }
  }
}

moved {
  from = aws_dynamodb_table.carts
  to   = aws_dynamodb_table.this["carts"]
}

moved {
  from = aws_dynamodb_table.sessions
  to   = aws_dynamodb_table.this["sessions"]
}
