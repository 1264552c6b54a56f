# Storefront's image: gunicorn (config/gunicorn.conf.py) by default; the same image runs the
# Celery worker and the migrations (compose.yaml, docs/deployment.md). Not built on the
# machine this was written on, which has no container engine: build it before relying on it.

# --- Build: the dependencies, pinned in pyproject.toml, in a virtualenv -------------------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY config ./config
COPY storefront ./storefront
# Install the project for its dependencies, then drop the project itself: the code runs from
# /app below (with its templates, migrations and static files next to it).
RUN pip install . && pip uninstall --yes storefront

# --- Runtime: the virtualenv and the code, run by an unprivileged user --------------------
FROM python:3.11-slim AS runtime

RUN groupadd --system --gid 10001 storefront \
    && useradd --system --uid 10001 --gid storefront --no-create-home storefront \
    && mkdir -p /var/lib/storefront/media /var/lib/storefront/beat \
    && chown -R storefront:storefront /var/lib/storefront

COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/var/lib/storefront/media \
    CELERY_BEAT_SCHEDULE_FILENAME=/var/lib/storefront/beat/celerybeat-schedule \
    GUNICORN_BIND=0.0.0.0:8000

# The code belongs to root: the application can read it, not change it.
WORKDIR /app
COPY manage.py ./
COPY config ./config
COPY storefront ./storefront
COPY data ./data
# Static files are collected into the image (whitenoise serves them). Production settings
# insist on a secret key; this one only lives for this command.
RUN DJANGO_SECRET_KEY="collectstatic-only-$(python -c 'import secrets; print(secrets.token_hex(32))')" \
    python manage.py collectstatic --noinput

USER storefront
EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.conf.py"]
