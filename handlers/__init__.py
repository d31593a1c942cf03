"""Slack listeners, one module per surface, each with `register(app, services)`.

Listeners are thin: acknowledge, check who is asking, call one workflow function, render.
"""
