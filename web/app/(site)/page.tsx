import Link from "next/link";

import { FreeTry } from "@/components/free-try";
import { ButtonLink } from "@/components/ui/button";
import { ArrowRightIcon } from "@/components/ui/icons";
import { getSession } from "@/lib/api/server";

const STEPS = [
  { title: "Upload your photos", body: "Scans, snapshots, the shoebox ones — each becomes a short, gently moving clip." },
  { title: "Put them in order", body: "Arrange the clips, pick a song, and choose how one moment flows into the next." },
  { title: "Keep it or give it", body: "Download one video to keep, or share a link with the people in the pictures." },
];

export default async function HomePage() {
  const user = await getSession().catch(() => null);
  return (
    <div className="flex flex-col gap-16 pb-12 pt-2 sm:gap-24 sm:pt-8">
      <div className="grid gap-10 lg:grid-cols-[1fr_minmax(0,28rem)] lg:items-start lg:gap-16 lg:pt-8">
        <section className="flex flex-col gap-6 lg:sticky lg:top-16">
          <p className="text-sm font-semibold uppercase tracking-[0.18em] text-ember-deep">Old photos, gently moving</p>
          <h1 className="font-display text-4xl leading-[1.1] text-ink sm:text-5xl lg:text-6xl">Bring your old photos to life</h1>
          <p className="max-w-xl text-lg leading-relaxed text-muted">
            Echoes turns each photo into a short, moving clip — then weaves your clips and a song into one video to keep or give.
          </p>
          <div className="flex flex-col gap-3 sm:flex-row">
            {!user && (
              <ButtonLink href="#try" className="lg:hidden">
                Try a free clip
              </ButtonLink>
            )}
            <ButtonLink href="#sample" variant="secondary">
              See an example
            </ButtonLink>
          </div>
        </section>

        {user ? (
          <section aria-labelledby="welcome-heading" className="flex flex-col gap-4 rounded-3xl border border-line/70 bg-paper p-5 shadow-soft sm:p-7">
            <h2 id="welcome-heading" className="font-display text-2xl text-ink sm:text-3xl">
              Welcome back{user.displayName ? `, ${user.displayName.split(" ")[0]}` : ""}
            </h2>
            <p className="text-base leading-relaxed text-muted">Your projects, clips and videos are waiting where you left them.</p>
            <ButtonLink href="/dashboard" block>
              Open my projects
            </ButtonLink>
          </section>
        ) : (
          <section id="try" aria-labelledby="free-try-heading" className="scroll-mt-6 rounded-3xl border border-line/70 bg-paper p-5 shadow-soft sm:p-7">
            <h2 id="free-try-heading" className="font-display text-2xl text-ink sm:text-3xl">
              Try a free clip
            </h2>
            <p className="mb-6 mt-2 text-base leading-relaxed text-muted">One photo, a five-second clip, no account needed. Free clips carry a small Echoes watermark.</p>
            <FreeTry />
          </section>
        )}
      </div>

      <section id="sample" aria-labelledby="sample-heading" className="scroll-mt-6">
        <h2 id="sample-heading" className="font-display text-3xl text-ink sm:text-4xl">
          Before and after
        </h2>
        <p className="mt-2 max-w-2xl text-base leading-relaxed text-muted">
          The same photograph, still and then moving: one of the clips Echoes makes from each of your photos. This sample uses the gentle local pan-and-zoom animation.
        </p>
        <div className="mt-6 grid gap-4 sm:grid-cols-2 sm:gap-6">
          <figure className="flex flex-col gap-3">
            <img src="/samples/before.jpg" alt="A portrait photograph, still" width={512} height={512} className="aspect-square w-full rounded-2xl object-cover shadow-soft" />
            <figcaption className="text-sm font-semibold uppercase tracking-[0.14em] text-muted">Before</figcaption>
          </figure>
          <figure className="flex flex-col gap-3">
            <video
              src="/samples/after.mp4"
              poster="/samples/before.jpg"
              autoPlay
              muted
              loop
              playsInline
              preload="metadata"
              width={512}
              height={512}
              aria-label="The same portrait, gently moving"
              className="aspect-square w-full rounded-2xl bg-ink object-cover shadow-soft"
            />
            <figcaption className="text-sm font-semibold uppercase tracking-[0.14em] text-ember-deep">After</figcaption>
          </figure>
        </div>
      </section>

      <section aria-labelledby="how-heading">
        <h2 id="how-heading" className="font-display text-3xl text-ink sm:text-4xl">
          How it works
        </h2>
        <ol className="mt-6 grid gap-6 sm:grid-cols-3">
          {STEPS.map((step, index) => (
            <li key={step.title} className="flex gap-4 rounded-3xl border border-line/60 bg-paper/70 p-5 sm:flex-col">
              <span aria-hidden className="flex size-10 shrink-0 items-center justify-center rounded-full bg-sand text-base font-semibold text-ember-deep">
                {index + 1}
              </span>
              <div className="flex flex-col gap-1">
                <h3 className="text-base font-semibold text-ink">{step.title}</h3>
                <p className="text-base leading-relaxed text-muted">{step.body}</p>
              </div>
            </li>
          ))}
        </ol>
      </section>

      <section aria-labelledby="pricing-heading" className="flex flex-col gap-4 rounded-3xl bg-sand/70 p-6 sm:flex-row sm:items-center sm:justify-between sm:p-8">
        <div className="flex flex-col gap-1">
          <h2 id="pricing-heading" className="font-display text-2xl text-ink">
            Simple credits, no subscription
          </h2>
          <p className="text-base leading-relaxed text-muted">One credit makes one clip. Putting your video together is free. Packs start at $15 for 5 clips.</p>
        </div>
        <Link href="/credits" className="inline-flex min-h-11 shrink-0 items-center gap-2 self-start whitespace-nowrap font-semibold text-ember-deep hover:underline sm:self-center">
          See the packs <ArrowRightIcon />
        </Link>
      </section>
    </div>
  );
}
