# syntax=docker/dockerfile:1
# Build stage: compile with tsc (npm run build -> dist/), then drop the dev dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bot ./bot
COPY handlers ./handlers
COPY jobs ./jobs
COPY infra ./infra
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Runtime stage: the compiled bot and the production dependencies only, as a non-root user.
FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=3000 CHATOPS_CONFIG=/etc/chatops/chatops.yaml
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM reaches node directly (exec form): the bot stops taking work, lets active jobs finish, then exits.
STOPSIGNAL SIGTERM
CMD ["node", "dist/bot/main.js"]
