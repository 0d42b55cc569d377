# syntax=docker/dockerfile:1
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY third_party ./third_party
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/chatgw ./cmd/chatgw

# Alpine rather than distroless so the health check has wget.
FROM alpine:3.22
RUN apk add --no-cache ca-certificates wget && adduser -D -H -u 10001 chatgw
COPY --from=build /out/chatgw /usr/local/bin/chatgw
USER chatgw
EXPOSE 3000
ENTRYPOINT ["chatgw"]
CMD ["serve"]
