"""The Slack side: the Web API client, ids, and Block Kit builders (pure, one per surface)."""
