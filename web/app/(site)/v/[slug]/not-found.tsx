import { ButtonLink } from "@/components/ui/button";

/** A shared link whose video is gone or no longer shared (answered with a 404). */
export default function VideoNotFound() {
  return (
    <div className="flex flex-1 flex-col items-start justify-center gap-5 py-16 sm:items-center sm:text-center">
      <h1 className="font-display text-4xl text-ink sm:text-5xl">This video isn&apos;t shared any more</h1>
      <p className="max-w-md text-lg leading-relaxed text-muted">The person who made it may have stopped sharing it. If you were sent this link, ask them for a new one.</p>
      <ButtonLink href="/">Discover Echoes</ButtonLink>
    </div>
  );
}
