variable "name" {
  description = "Name of the orders queue; the dead-letter queue is <name>-dlq."
  type        = string
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout; must exceed the worker's longest order processing time."
  type        = number
  default     = 60
}

variable "receive_wait_time_seconds" {
  description = "Long polling wait of ReceiveMessage (1-20 s)."
  type        = number
  default     = 20

  validation {
    condition     = var.receive_wait_time_seconds >= 1 && var.receive_wait_time_seconds <= 20
    error_message = "Long polling needs receive_wait_time_seconds between 1 and 20."
  }
}

variable "message_retention_seconds" {
  description = "How long an unprocessed order message is kept."
  type        = number
  default     = 345600
}

variable "max_receive_count" {
  description = "Receives before a message is moved to the dead-letter queue."
  type        = number
  default     = 5
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
