import type { NextConfig } from "next";

/**
 * One id per `next build`, shared by Next's build id and the service worker's cache version
 * (`NEXT_PUBLIC_BUILD_ID`, inlined into the client bundle): a new build registers
 * `/sw.js?v=<id>`, so the browser installs the new worker and it re-caches the app shell.
 * The config is evaluated again in build workers, which inherit this environment variable
 * from the first evaluation, so they all agree.
 */
process.env.ECHOES_BUILD_ID ||= `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const buildId = process.env.ECHOES_BUILD_ID;

const nextConfig: NextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  generateBuildId: () => buildId,
  env: { NEXT_PUBLIC_BUILD_ID: buildId },
  async headers() {
    return [
      {
        source: "/sw.js",
        headers: [
          { key: "Cache-Control", value: "no-cache" },
          { key: "Service-Worker-Allowed", value: "/" },
        ],
      },
      {
        source: "/manifest.webmanifest",
        headers: [{ key: "Cache-Control", value: "no-cache" }],
      },
    ];
  },
};

export default nextConfig;
