"""Slack listeners, one module per surface, each with `register(app, services)`.

Listeners are thin: parse the request, call one application function (which checks who may
act), render its answer. They never import each other; bot.application.answers acknowledges
every request first and turns every refusal into the person's line.
"""
