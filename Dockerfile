# The collector in a small image: dependencies built in one stage, run as a non-root user.
FROM python:3.11-slim AS build
# A C compiler, so that pip compiles the pipeline with mypyc (setup.py); it stays in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md LICENSE ./
COPY app ./app
COPY schemas ./schemas
RUN pip install --no-cache-dir --prefix=/install ".[nats,kafka,enrichments]"

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /srv --shell /usr/sbin/nologin collector \
 && mkdir -p /data /srv \
 && chown collector:collector /data
# The schemas are inside the installed package (pyproject.toml ships them).
COPY --from=build /install /usr/local
# The image ships the compiled pipeline: refuse to build one that fell back to pure Python.
RUN python -c "import sys, app.build as b; print(b.describe()); sys.exit(not b.describe().startswith('compiled'))"
WORKDIR /srv
USER collector
ENV COLLECTOR_HOST=0.0.0.0 \
    COLLECTOR_PORT=8080 \
    COLLECTOR_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 8080
# Liveness only: readiness (/sink-health) belongs to the load balancer, which must stop sending
# traffic during the drain period after SIGTERM without the container being restarted.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2).status != 200)"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "app"]
