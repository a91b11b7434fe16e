"""Rate budget: limits from the endpoint table, priorities, reserve, 429 backoff."""
