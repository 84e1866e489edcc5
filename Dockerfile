# Production image: gunicorn, the Celery workers (default queue; SLA worker on "sla-tick" and "sla") and Celery
# beat all run from it (docker-compose.yml picks the command and the health checks).
# Static files are collected and translations compiled at build time.

# --- front-end packages (Bootstrap, icons, Chart.js) -----------------------------------
FROM node:20-slim AS assets
WORKDIR /src
# pyproject.toml makes the copy valid even before package.json exists.
COPY pyproject.toml package*.json .npmrc* ./
RUN mkdir -p node_modules \
    && if [ -f package-lock.json ]; then npm ci --omit=dev --no-audit --no-fund; \
       elif [ -f package.json ]; then npm install --omit=dev --no-audit --no-fund; fi

# --- application -----------------------------------------------------------------------
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=itsm.settings.base
# gettext compiles the translations; nothing else is needed at run time (wheels only).
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin itsm
WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN pip install .

# Code stays owned by root: the app user may write only to var/ (uploads).
COPY . .
COPY --from=assets /src/node_modules ./node_modules
# Build-time only values: settings refuse to load without a key and hosts when DEBUG is off.
RUN mkdir -p static var/media \
    && export DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=localhost \
    && python manage.py collectstatic --noinput -v 0 \
    && if [ -d locale ]; then python manage.py compilemessages -v 0 --ignore=node_modules; fi \
    && chown -R itsm:itsm var

USER itsm
EXPOSE 8000
CMD ["gunicorn", "itsm.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
