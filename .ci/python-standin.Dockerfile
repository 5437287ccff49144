# A stand-in for the official python:3.11-slim, for machines that cannot pull it (CI here):
# Debian bookworm's own Python 3.11 on a debootstrap'ed minimal Debian that .ci/docker.sh
# imports as warble-ci/bookworm-minbase. It is tagged python:3.11-slim so the project's
# Dockerfile builds unchanged. Users who can pull never build it.
FROM warble-ci/bookworm-minbase
# The machine's CA bundle: package downloads in builds (pip) verify TLS against it, and it
# may hold a CA that Debian's bundle lacks. ca-certificates would regenerate the file from
# Debian's list, so it is put back after the install.
COPY ca-certificates.crt /tmp/host-ca.crt
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
       python3 python3-venv python3-pip python-is-python3 ca-certificates \
    && cp /tmp/host-ca.crt /etc/ssl/certs/ca-certificates.crt && rm /tmp/host-ca.crt \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
ENV LANG=C.UTF-8
CMD ["python3"]
