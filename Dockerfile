# One image for every Tessera process; docker-compose.yml picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY services ./services
COPY gateway ./gateway
COPY schemas ./schemas
RUN pip install --no-cache-dir -e . && tessera schemas fetch
RUN useradd --system --uid 10001 tessera && mkdir -p /app/var && chown tessera /app/var
USER tessera
EXPOSE 8000 8001 8002 8003
