FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/app/.venv/bin:$PATH"
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
RUN python -m venv .venv && .venv/bin/pip install --no-cache-dir .
COPY . .
RUN DJANGO_SECRET_KEY=build-only .venv/bin/python manage.py collectstatic --noinput
EXPOSE 8000
