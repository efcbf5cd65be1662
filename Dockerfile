# The Python image shared by the migrator, the API and the workers (docker-compose.yml).
FROM python:3.11-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 ECHOES_ENV=production
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 echoes
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY api ./api
COPY worker ./worker
COPY assembly ./assembly
COPY devstack ./devstack
COPY migrations ./migrations
RUN pip install -c constraints.txt . && mkdir -p /data && chown echoes /data
USER echoes
ENV ECHOES_VAR_DIR=/data
EXPOSE 8000
CMD ["python", "-m", "api", "serve", "--host", "0.0.0.0", "--port", "8000"]
