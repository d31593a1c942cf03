# iam-inactive as a container. HTTP mode by default (gunicorn on $PORT, /healthz for probes);
# set SLACK_APP_TOKEN for Socket Mode. Migrations run on start (serialized on PostgreSQL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORT=3000 LOG_FORMAT=json
WORKDIR /app
RUN useradd --create-home --uid 10001 bot
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY bot/ bot/
COPY handlers/ handlers/
COPY storage/ storage/
# PYTHONDONTWRITEBYTECODE keeps the running container from writing: compile once, here.
RUN python -m compileall -q bot handlers storage
USER bot
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)"
CMD ["python", "-m", "bot", "run"]
