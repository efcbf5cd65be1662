# The Python image shared by the migrator, the API and the worker pools (docker-compose.yml).
# ffmpeg comes from the imageio-ffmpeg wheel (a static build), so no system packages are needed.
# Neither the embedded servers (`embedded` extra) nor the GPU SDK (`gpu` extra) are installed.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ECHOES_ENV=production ECHOES_VAR_DIR=/data
RUN useradd --create-home --uid 10001 echoes && mkdir -p /data && chown echoes /data
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY api ./api
COPY worker ./worker
COPY assembly ./assembly
COPY devstack ./devstack
COPY migrations ./migrations
RUN pip install -c constraints.txt .
USER 10001
EXPOSE 8000
CMD ["python", "-m", "api", "serve", "--host", "0.0.0.0", "--port", "8000"]
