import type { NextConfig } from "next";

import { fixedSecurityHeaders } from "./lib/security-headers";

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
      // Every answer; pages also get their per-request Content-Security-Policy from proxy.ts.
      // `next build` runs with NODE_ENV=production, `next dev` without: HSTS only in builds.
      {
        source: "/:path*",
        headers: fixedSecurityHeaders({ production: process.env.NODE_ENV === "production" }),
      },
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
