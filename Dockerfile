# Switchboard container image.
#   docker build -t switchboard .      (or: docker-compose up --build)
# Stage 1 builds the release binary; stage 2 is a slim Debian runtime that
# runs it as an unprivileged user.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin switchboard \
    && strip target/release/switchboard \
    && mkdir -p ivr-flows sounds

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /opt/switchboard \
        --shell /usr/sbin/nologin switchboard
WORKDIR /opt/switchboard
COPY --from=build /src/target/release/switchboard /usr/local/bin/switchboard
# (taken from the build stage, where they are sure to exist even if empty)
COPY --from=build /src/switchboard.yaml ./switchboard.yaml
COPY --from=build /src/ivr-flows ./ivr-flows
COPY --from=build /src/sounds ./sounds
# var/ (registrations, CDRs, recordings, voicemail) belongs to the service
# user; a fresh named volume mounted here takes this ownership.
RUN mkdir -p var && chown switchboard:switchboard var
USER switchboard
VOLUME ["/opt/switchboard/var"]
# SIP over UDP and TCP, and the RTP port range used for media.
EXPOSE 5060/udp 5060/tcp 10000-10099/udp
# Inside a container 127.0.0.1 is not reachable from outside: listen on all
# interfaces of the container.
ENTRYPOINT ["switchboard"]
CMD ["serve", "--config", "/opt/switchboard/switchboard.yaml", "--sip-listen", "0.0.0.0:5060", "--var-dir", "/opt/switchboard/var"]
