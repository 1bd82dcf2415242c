# The booking gateway: `docker build -t booking-gateway .` (docker-compose.yml builds it too).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the package needs (no .venv, .devdata or tests in the build context copy).
# README.m[d]: pyproject.toml names it as the readme; the glob keeps the build working without it.
WORKDIR /src
COPY pyproject.toml README.m[d] ./
COPY gateway ./gateway
COPY holds ./holds
COPY broadcast ./broadcast
COPY store ./store
COPY web ./web
COPY loadtests ./loadtests
RUN pip install . && rm -rf /src

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin gateway
USER gateway
WORKDIR /home/gateway

EXPOSE 8000
# Exec form: the gateway is PID 1 and gets SIGTERM itself (it drains within 5 s).
CMD ["gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
