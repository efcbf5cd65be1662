import type { ReactNode } from "react";

type Tone = "problem" | "info" | "success";

const TONES: Record<Tone, string> = {
  problem: "border-ember/30 bg-ember-soft/50 text-ember-deep",
  info: "border-line bg-sand/60 text-ink",
  success: "border-moss/25 bg-moss-soft text-moss",
};

/** A quiet box for a sentence the person should read: a problem, a hint, a confirmation. */
export function Notice({ tone = "info", children, className = "" }: { tone?: Tone; children: ReactNode; className?: string }) {
  return (
    <div role={tone === "problem" ? "alert" : "status"} className={`rounded-2xl border px-4 py-3 text-sm leading-relaxed ${TONES[tone]} ${className}`}>
      {children}
    </div>
  );
}
