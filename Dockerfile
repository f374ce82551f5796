# syntax=docker/dockerfile:1
# Build stage: type-check with tsc, bundle bot/main.ts with esbuild (scripts/build.mjs).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bot ./bot
COPY handlers ./handlers
COPY jobs ./jobs
COPY infra ./infra
COPY scripts ./scripts
RUN npm run build

# Runtime stage: production dependencies and the bundled bot only, as a non-root user. The bundle still
# needs node_modules next to dist/: Socket Mode, express and @slack/oauth are loaded from there on first
# use, and so are native addons and files some packages read at run time.
FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000 CHATOPS_CONFIG=/etc/chatops/chatops.yaml
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY infra/iam ./infra/iam
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM reaches node directly (exec form): the bot stops taking work, lets active jobs finish, then exits.
STOPSIGNAL SIGTERM
CMD ["node", "dist/bot/main.js"]
