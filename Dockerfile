# hubkeeper's image. `make image` builds it (see deploy/build-image.sh): the wheels in build/wheels are
# built on the host with `pip wheel` and installed here with no index, so the build needs no network.
# BASE_IMAGE must carry Python 3.11 (the wheels' ABI) with venv; where Docker Hub cannot be reached,
# make image passes a local Debian bookworm base made by deploy/base-image.sh.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
# Dependencies first, in their own layer: it is rebuilt only when they change, not with every commit.
COPY build/wheels/deps /wheels/deps
RUN python3 -m venv /opt/hubkeeper \
    && /opt/hubkeeper/bin/python -m pip install --quiet --no-index --no-cache-dir /wheels/deps/*.whl
COPY build/wheels/app /wheels/app
RUN /opt/hubkeeper/bin/python -m pip install --quiet --no-index --no-cache-dir \
        --find-links /wheels/deps /wheels/app/*.whl \
    && /opt/hubkeeper/bin/python -m pip uninstall --quiet --yes pip setuptools
COPY deploy/healthcheck.py /opt/hubkeeper/healthcheck.py

FROM ${BASE_IMAGE}
# A fixed, non-root UID/GID, so volume ownership and Kubernetes' runAsUser agree with the image.
RUN groupadd --system --gid 10001 hubkeeper \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin hubkeeper \
    && mkdir -p /data \
    && chown 10001:10001 /data
COPY --from=build /opt/hubkeeper /opt/hubkeeper
# XDG_DATA_HOME: the default SQLite store lands in /data/hubkeeper/ (mount a volume there, or use
# PostgreSQL with HUBKEEPER_DATABASE_URL, which replicas need). Bytecode is compiled at build time,
# so a read-only root filesystem costs nothing.
ENV PATH=/opt/hubkeeper/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    XDG_DATA_HOME=/data
USER 10001:10001
WORKDIR /data
# 3000: `serve --http` (Slack's POST /slack/events and the probes); 8080: the probes in Socket Mode.
EXPOSE 3000 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["python3", "/opt/hubkeeper/healthcheck.py"]
ENTRYPOINT ["hubkeeper"]
CMD ["serve"]
