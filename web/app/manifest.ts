import type { MetadataRoute } from "next";

/** The web app manifest (`/manifest.webmanifest`): what "Add to Home Screen" installs. */
export default function manifest(): MetadataRoute.Manifest {
  return {
    id: "/",
    name: "Echoes — bring your old photos to life",
    short_name: "Echoes",
    description: "Turn old photos into gently moving clips, and your clips and a song into one video to keep or give.",
    start_url: "/dashboard",
    scope: "/",
    display: "standalone",
    orientation: "portrait",
    background_color: "#fbf6ee",
    theme_color: "#fbf6ee",
    categories: ["photo", "lifestyle"],
    icons: [
      { src: "/icons/icon-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
      { src: "/icons/icon-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
      { src: "/icons/maskable-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
    ],
  };
}
