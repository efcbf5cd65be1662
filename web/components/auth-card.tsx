import type { ReactNode } from "react";

/** The frame of the sign-up and log-in pages: a heading, a line of reassurance, the form. */
export function AuthCard({ title, lead, children, aside }: { title: string; lead: string; children: ReactNode; aside?: ReactNode }) {
  return (
    <div className="mx-auto grid w-full max-w-4xl gap-10 pb-16 pt-4 sm:pt-10 lg:grid-cols-[1fr_26rem] lg:items-start">
      <div className="flex flex-col gap-3 lg:pt-6">
        <h1 className="font-display text-4xl leading-tight text-ink sm:text-5xl">{title}</h1>
        <p className="max-w-md text-lg leading-relaxed text-muted">{lead}</p>
        {aside}
      </div>
      <section className="rounded-3xl border border-line/70 bg-paper p-5 shadow-soft sm:p-7">{children}</section>
    </div>
  );
}
