# Fulcrum container image: a static binary on a distroless base, run as a
# non-root user. Build from the repository root:
#
#   docker build -t fulcrum .
#
# The build stage needs the Go module proxy; the image itself needs no
# network at start-up (the dashboard, price catalogue and phone metadata
# are embedded in the binary).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0: a static binary (SQLite is the pure-Go modernc driver).
# -buildvcs=true: `fulcrum version` prints the module version and commit
# (needs the .git directory in the build context).
RUN CGO_ENABLED=0 GOFLAGS=-buildvcs=true go build -trimpath -ldflags="-s -w" -o /out/fulcrum ./cmd/fulcrum \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/fulcrum /usr/local/bin/fulcrum
COPY --from=build --chown=65532:65532 /out/data /data
# 65532 is distroless' "nonroot" user.
USER 65532:65532
ENV FULCRUM_DATA_DIR=/data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/fulcrum"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
