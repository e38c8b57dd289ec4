# timebank-bot in a container: one network per container, its database on the /data volume.
# The install is the README's plain one, step for step (tests/test_container.py holds them
# together). Build: docker build -t timebank-bot .    Run: see compose.yaml and the README.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib

# Its own user, with no login and no home but the data volume.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin timebank

COPY pyproject.toml README.md /src/
COPY bot /src/bot
COPY handlers /src/handlers
COPY storage /src/storage
WORKDIR /src
RUN python3.11 -m venv /opt/timebank-bot \
 && /opt/timebank-bot/bin/pip install --no-cache-dir .

# The database lives on /data (a relative `database` in the config lands there too), backups
# go to /backups, a volume of their own so they outlive the data volume. The config is mounted
# read-only at /etc/timebank-bot/config.toml; the token comes in the environment.
RUN mkdir -p /data /backups && chown timebank:timebank /data /backups && rm -rf /src
WORKDIR /data
VOLUME ["/data", "/backups"]
USER timebank

ENTRYPOINT ["/opt/timebank-bot/bin/timebank-bot"]
CMD ["run", "--config", "/etc/timebank-bot/config.toml"]
