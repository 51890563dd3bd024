# One image for all five processes (four services + downstream simulators); each compose service
# picks its process with `command: ["node", "dist/apps/<app>/src/main.js"]`.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- deps: every dependency (dev included) for the TypeScript build --------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- build: tsc + tsc-alias into dist/ --------------------------------------------------------
FROM deps AS build
COPY . .
RUN npm run build \
  && test -f dist/apps/order-orchestrator/src/main.js \
  && test -f dist/apps/session-manager/src/main.js \
  && test -f dist/apps/payment-processor/src/main.js \
  && test -f dist/apps/taxi-partner-gateway/src/main.js \
  && test -f dist/apps/downstream-simulators/src/main.js

# --- prod-deps: runtime dependencies only ------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    LOG_LEVEL=info
WORKDIR /app
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY deploy/docker/healthcheck.js ./healthcheck.js
# Code stays root-owned and read-only to the app; it runs as the image's non-root user (uid 1000).
USER node
EXPOSE 3000 3001 3002 3003 4000 4001 4002 4003 4004 4005 4006 4007
# No curl in the slim image: node's fetch probes the process's own health endpoint (see the script).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 CMD ["node", "/app/healthcheck.js"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/apps/order-orchestrator/src/main.js"]
