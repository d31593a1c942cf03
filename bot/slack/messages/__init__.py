"""Block Kit messages and modals as pure functions, one module per Slack surface."""
