"""The application: the use cases (decide, keep, scan and announce, follow up, digest) over the
domain, storage, AWS and Slack sides."""
