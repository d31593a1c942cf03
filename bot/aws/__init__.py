"""The AWS side: every IAM, STS and Organizations call, and a scan across accounts."""
